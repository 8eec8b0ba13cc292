"""``geosite webadaptor nginx``: an nginx configuration for the site's current machines.

nginx is the web adaptor (the load balancer) of a site of several machines: one upstream per
machine of ``/admin/machines`` (from its ``adminURL``), passive failover (a machine that does
not answer, or answers 502/503/504, is skipped for ``fail_timeout``; a stopped machine's
services answer 503), retried on another machine only for requests that are safe to repeat
(nginx never resends a POST unless told to, and this configuration does not tell it), the
upload size, timeouts, HTTPS, and ``X-Forwarded-*`` set for geosite, which believes them
only from the balancer's address (``--trusted-proxies``).

Open-source nginx checks upstreams passively only: ``/arcgis/admin/info/healthCheck`` (HTTP
503 from a stopped machine) is for a balancer that probes (nginx Plus, HAProxy, a cloud load
balancer, Kubernetes' readiness probe); see docs/deployment.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from geosite.cli._common import Failure, Group, connect

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$|^\[[0-9A-Fa-f:.]+\]$")
_SIZE = re.compile(r"^[0-9]{1,6}[kKmMgG]?$")
_NAME = re.compile(r"^[A-Za-z0-9_.*-]{1,253}$")
_LISTEN = re.compile(r"^(?:(?:[0-9.]{7,15}|\[[0-9A-Fa-f:]+\]):)?[0-9]{1,5}$")


@dataclass(frozen=True)
class Upstream:
    """One machine as nginx reaches it."""

    machine: str
    host: str
    port: int


def upstream_of(resource: dict[str, Any], https: bool = False) -> Upstream:
    """Where nginx reaches a machine (its resource from ``/admin/machines/<name>``): the host
    of its ``adminURL`` and its HTTP port (``ports.HTTPPort``; HTTPS with ``https``), else the
    port of the ``adminURL``."""
    machine, admin_url = str(resource.get("machineName")), str(resource.get("adminURL"))
    try:
        parts = urlsplit(admin_url)
        given_port = parts.port
    except ValueError:
        raise Failure(
            f"Machine {machine} has an adminURL nginx cannot use: {admin_url[:200]}"
        ) from None
    host = parts.hostname or ""
    bracketed = f"[{host}]" if ":" in host else host
    if parts.scheme not in ("http", "https") or not _HOST.match(bracketed):
        raise Failure(f"Machine {machine} has an adminURL nginx cannot use: {admin_url[:200]}")
    ports = resource.get("ports") if isinstance(resource.get("ports"), dict) else {}
    named = (ports or {}).get("HTTPSPort" if https else "HTTPPort")
    port = named if isinstance(named, int) and 0 < named < 65536 else None
    if port is None:
        port = given_port or (443 if parts.scheme == "https" else 80)
    return Upstream(machine, bracketed, port)


def render(
    upstreams: Sequence[Upstream],
    *,
    server_name: str = "_",
    listen: str = "443",
    certificate: Path | None = None,
    key: Path | None = None,
    context: str = "/arcgis",
    max_upload: str = "1g",
    https_upstreams: bool = False,
) -> str:
    """The ``http``-level configuration (an ``upstream`` and a ``server``)."""
    if not upstreams:
        raise Failure("The site lists no machines.")
    if not _NAME.match(server_name) or not _SIZE.match(max_upload):
        raise Failure("--server-name and --max-upload must be plain values.")
    if not _LISTEN.match(listen):
        raise Failure("--listen is a port, or address:port (127.0.0.1:8443).")
    if not re.match(r"^/[A-Za-z0-9_-]{1,64}$", context):
        raise Failure("--context must be a path such as /arcgis.")
    servers = "\n".join(
        f"    server {u.host}:{u.port} max_fails=1 fail_timeout=10s;  # {u.machine}"
        for u in upstreams
    )
    if certificate is not None and key is not None:
        tls = (
            f"    listen {listen} ssl;\n"
            f"    ssl_certificate {_path(certificate)};\n"
            f"    ssl_certificate_key {_path(key)};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        )
    else:
        tls = f"    listen {listen};  # plain HTTP: put TLS in front, or give --certificate\n"
    scheme = "https" if https_upstreams else "http"
    return f"""# geosite web adaptor (`geosite webadaptor nginx`), {len(upstreams)} machine(s).
# Run it again after machines join or leave the site.
upstream geosite_site {{
{servers}
    keepalive 16;
}}

server {{
{tls}    server_name {server_name};
    client_max_body_size {max_upload};

    location {context}/ {{
        proxy_pass {scheme}://geosite_site;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_connect_timeout 5s;
        proxy_send_timeout 300s;
        proxy_read_timeout 300s;
        # Another machine when one fails; nginx resends GET and HEAD only (never a POST).
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries {max(2, len(upstreams))};
        proxy_next_upstream_timeout 30s;
        proxy_request_buffering off;
    }}
}}
"""


def _path(path: Path) -> str:
    text = str(path.resolve())
    if not re.match(r"^/[A-Za-z0-9_./-]{1,400}$", text):
        raise Failure(f"{text[:200]}: give a path of letters, digits, '_', '.', '-' and '/'.")
    return text


@click.group(cls=Group)
def webadaptor() -> None:
    """Web adaptors: the load balancer in front of the site's machines.

    Example: geosite webadaptor nginx --server-name gis.example.com --certificate site.pem
    --key site.key > /etc/nginx/conf.d/geosite.conf
    """


@webadaptor.command("nginx")
@click.option("--server-name", default="_", show_default=True, help="nginx's server_name.")
@click.option(
    "--listen", default="443", show_default=True, help="A port, or address:port, to listen on."
)
@click.option("--certificate", type=click.Path(path_type=Path), help="PEM certificate (HTTPS).")
@click.option("--key", type=click.Path(path_type=Path), help="Its private key (PEM).")
@click.option("--context", default="/arcgis", show_default=True, help="The site's URL path.")
@click.option("--max-upload", default="1g", show_default=True, help="client_max_body_size.")
@click.option(
    "--https-upstreams", is_flag=True, help="Reach the machines over HTTPS (their own ports)."
)
@click.option(
    "--register",
    "public_url",
    default=None,
    help="Also register the web adaptor with the site, at this public URL "
    "(https://gis.example.com/arcgis): /admin/system/webadaptors lists it.",
)
@click.pass_context
def nginx(
    ctx: click.Context,
    server_name: str,
    listen: str,
    certificate: Path | None,
    key: Path | None,
    context: str,
    max_upload: str,
    https_upstreams: bool,
    public_url: str | None,
) -> None:
    """Print an nginx configuration for the site's current machines.

    Example: geosite webadaptor nginx --server-name gis.example.com --certificate site.pem
    --key site.key > /etc/nginx/conf.d/geosite.conf
    """
    if (certificate is None) != (key is None):
        raise Failure("Give both --certificate and --key, or neither (plain HTTP).")
    site = connect(ctx)
    upstreams = [
        upstream_of(site.machines.get(str(m["machineName"])), https_upstreams)
        for m in site.machines.list()
    ]
    click.echo(
        render(
            upstreams,
            server_name=server_name,
            listen=listen,
            certificate=certificate,
            key=key,
            context=context,
            max_upload=max_upload,
            https_upstreams=https_upstreams,
        ),
        nl=False,
    )
    if public_url is not None:
        site.session.post_json(
            "admin/system/webadaptors/register",
            {
                "webAdaptorURL": public_url,
                "description": f"nginx, from geosite webadaptor nginx ({len(upstreams)} machines)",
            },
        )
