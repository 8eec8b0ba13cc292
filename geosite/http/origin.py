"""Who sent a request and how they addressed the site, behind trusted reverse proxies.

A proxy's ``Forwarded`` (RFC 7239) or ``X-Forwarded-For/Proto/Host`` headers are believed only
when the connection comes from an address the site trusts (``--trusted-proxies``); from
anyone else they are ignored, so a client cannot claim another address (and so pass a
``requestip`` token's binding or the admin address list) by sending a header.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request

from geosite.settings import Network, parse_networks

# A host as it may appear in a URL: a name, an IPv4 address or a bracketed IPv6 address,
# with an optional port. Anything else (spaces, slashes, '@', quotes) is not a host.
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$",
    re.ASCII,
)
X_FORWARDED, FORWARDED = "x-forwarded", "forwarded"
PROXY_HEADER_FAMILIES = (X_FORWARDED, FORWARDED)
_PAIR = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


@dataclass(frozen=True)
class Origin:
    """The client's address and the scheme and host it used to reach the site."""

    client_ip: str
    scheme: str
    host: str
    #: Whether a trusted proxy said how the request was addressed.
    proxied: bool = False


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # "192.0.2.1:4711"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in networks)


def without_port(host: str) -> str:
    """``gis.example.com`` from ``gis.example.com:8080`` (``[::1]`` stays whole)."""
    return host if host.endswith("]") or ":" not in host else host.rsplit(":", 1)[0]


def valid_host(value: str) -> bool:
    """Whether ``value`` can stand as the host of a URL the site writes."""
    return bool(value) and len(value) <= 260 and _HOST.match(value) is not None


def _forwarded(header: str) -> list[dict[str, str]]:
    """The elements of a ``Forwarded`` header, nearest proxy last."""
    elements: list[dict[str, str]] = []
    for part in header.split(","):
        element: dict[str, str] = {}
        for pair in part.split(";"):
            found = _PAIR.fullmatch(pair)
            if found:
                element[found.group(1).lower()] = found.group(2).strip('"')
        elements.append(element)
    return elements


def _client(chain: list[str], peer: str, networks: Sequence[Network]) -> str:
    """The first address, walking from the nearest hop outwards, that is not a trusted proxy."""
    for hop in reversed(chain):
        ip = _ip(hop)
        if ip is None:
            return peer  # a hop we cannot read: trust nothing further out
        if not any(ip in network for network in networks):
            return str(ip)
    first = _ip(chain[0]) if chain else None
    return str(first) if first is not None else peer


def _nearest(request: Request, name: str) -> str:
    """The value the nearest proxy gave a list header: its last item (proxies append)."""
    values = [v.strip() for line in request.headers.getlist(name) for v in line.split(",")]
    return values[-1] if values else ""


def resolve(request: Request, trusted: tuple[str, ...], family: str = X_FORWARDED) -> Origin:
    """The request's origin, believing proxy headers only from trusted addresses.

    ``family`` names the one header family the proxies set: ``x-forwarded`` (nginx's
    ``X-Forwarded-For/Proto/Host/Port``, the default) or ``forwarded`` (RFC 7239). The other
    family is ignored, since a proxy passes on what a client sent in headers it does not set.
    """
    peer = request.client.host if request.client else ""
    scheme = request.url.scheme
    host = request.headers.get("host", "")
    if not valid_host(host):
        host = "localhost"
    networks = parse_networks(trusted) if trusted else ()
    if not networks or not _trusted(peer, networks):
        return Origin(peer, scheme, host)
    if family == FORWARDED:
        elements = _forwarded(",".join(request.headers.getlist("forwarded")))
        chain = [e.get("for", "") for e in elements]
        nearest = elements[-1] if elements else {}
        proto, fhost = nearest.get("proto", ""), nearest.get("host", "")
    else:
        chain = [
            hop.strip()
            for line in request.headers.getlist("x-forwarded-for")
            for hop in line.split(",")
            if hop.strip()
        ]
        proto = _nearest(request, "x-forwarded-proto")
        fhost = _nearest(request, "x-forwarded-host")
        port = _nearest(request, "x-forwarded-port")
        if fhost and port.isdigit() and ":" not in fhost.rsplit("]", 1)[-1]:
            default = {"http": "80", "https": "443"}.get(proto.lower() or scheme)
            if port != default:
                fhost = f"{fhost}:{port}"
    client = _client(chain, peer, networks) if chain else peer
    proto = proto.lower()
    return Origin(
        client_ip=client,
        scheme=proto if proto in ("http", "https") else scheme,
        host=fhost if valid_host(fhost) else host,
        proxied=True,
    )
