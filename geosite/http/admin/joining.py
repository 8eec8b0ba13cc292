"""Machines joining a site over HTTP: ``joinSite``, ``machines/register``, ``deleteSite``.

The exchanges (the rules and the cryptography are in ``geosite.core.membership``):

- every machine answers ``GET /admin/joinInfo`` without a token: that it is geosite, whether
  it belongs to a site, its HTTPS port and, while it waits with no site and a join code, the
  proof of the code for the probe's challenge;
- ``joinSite`` on a waiting machine: it probes the site's machine, logs in to it over HTTPS
  with the administrator's credentials and takes the store's connection from
  ``POST /admin/system/configstore/offer`` (administrators, HTTPS only);
- ``machines/register`` on a machine of the site: it probes the named machine, checks the
  join code's proof, and sends the offer to ``POST /admin/acceptSite`` over HTTPS (sealed
  with the code when there is one).

Requests go only to the administrator URL given (its host, under its admin path; the HTTPS
port the machine itself announced), follow no redirects, and read at most 64 KiB. The
machines' certificates are their own (self-signed by default) and verified only against the
certificates of ``--join-ca``: the join code is what authenticates a waiting machine, and
seals the offer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from geosite import __version__
from geosite.core import machines, membership
from geosite.core.logs import LogCode
from geosite.core.site import read_pointer
from geosite.errors import Conflict, InvalidParameter
from geosite.http.admin.site import own_admin_url, own_ports, refuse_in_a_site
from geosite.http.routing import OPERATION, Call, Endpoint, Field
from geosite.http.state import AppState
from geosite.http.tokens import decrypted
from geosite.storage import display_url, is_postgresql, load_stores

SOURCE = "Admin"
_TIMEOUT_S = 15.0
_MAX_ANSWER = 64 * 1024


# -- the answering side ------------------------------------------------------------------------
def join_info(call: Call) -> dict[str, Any]:
    """``GET /admin/joinInfo``: what a machine about to be registered, or a machine about to
    join, shows of itself (no token; nothing secret)."""
    state = call.state
    belongs = state.open_site() is not None
    answer: dict[str, Any] = {
        "geosite": True,
        "geositeVersion": __version__,
        "machineName": state.machine_name,
        "site": belongs,
        "httpsPort": state.settings.https_port,
    }
    if not belongs:
        code = state.settings.join_code
        answer["joinCodeRequired"] = bool(code)
        challenge = membership.valid_challenge(call.params.get("challenge"))
        if code and challenge:
            answer["proof"] = membership.proof(code, challenge)
    return answer


def local_machine(call: Call) -> dict[str, str]:
    """``GET /admin/local``: the name of the machine answering (Chef's ``local_machine_name``
    reads it to find this machine's entry under ``machines``)."""
    return {"machineName": call.state.require_site().site.machine_name}


def _require_https(call: Call, what: str) -> None:
    if call.scheme != "https":
        raise InvalidParameter(f"{what} only over HTTPS, as it carries the store's password.")


def _offer(state: AppState) -> membership.Offer:
    pointer = read_pointer(state.settings.data_dir)
    if pointer is None:
        raise InvalidParameter("This machine belongs to no site.")
    return membership.Offer(pointer.config_store, state.settings.data_store, pointer.site_key)


def configstore(call: Call) -> dict[str, Any]:
    """``GET /admin/system/configstore``: the kind and place of the site's configuration
    store (its password not shown)."""
    call.state.require_site()
    store = _offer(call.state).config_store
    kind = "POSTGRESQL" if is_postgresql(store) else "SQLITE"
    return {
        "type": kind,
        "connectionString": display_url(store),
        "localRepositoryPath": str(call.state.settings.data_dir.resolve()),
        "status": "Ready",
    }


def configstore_offer(call: Call) -> dict[str, Any]:
    """``POST /admin/system/configstore/offer`` (administrators, HTTPS): the store's
    connection, for a machine that joins with ``joinSite``."""
    call.state.require_site()
    _require_https(call, "The site gives its store's connection")
    return _offer(call.state).to_json()


def accept_site(call: Call) -> dict[str, Any]:
    """``POST /admin/acceptSite`` (HTTPS, a machine with no site): a machine of a site that
    ``machines/register`` named this one sends the store's connection; with a join code the
    offer is sealed with it, and only an offer made with the code is accepted."""
    state = call.state
    refuse_in_a_site(call)
    _require_https(call, "A site's offer is accepted")
    raw = call.params.get("offer")
    if not raw:
        raise InvalidParameter("Missing parameter 'offer'.")
    code = state.settings.join_code
    if code:
        challenge = membership.valid_challenge(call.params.get("challenge"))
        if challenge is None:
            raise InvalidParameter("The join code does not match this machine's.")
        offer = membership.unseal(raw, code, challenge)
    else:
        offer = membership.Offer.from_json(call.params.json("offer"))
    name = _machine_name(call.params.get("machineName"))
    own_url = membership.admin_url(call.params.get("adminURL"))
    _join(call, offer, name, own_url, via=call.client_ip)
    return {"status": "success"}


def _machine_name(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidParameter("Missing parameter 'machineName'.")
    if not machines.valid_name(text):
        raise InvalidParameter("'machineName' must be a host name (letters, digits, '.', '-').")
    return text.upper()


def _join(call: Call, offer: membership.Offer, name: str, own_url: str, *, via: str) -> None:
    state = call.state
    settings = state.settings
    membership.join(
        settings.data_dir,
        offer,
        state.clock,
        machine_name=name,
        machine_admin_url=own_url,
        machine_properties={**own_ports(state), "hardware": machines.hardware()},
        open_stores=load_stores,
    )
    runtime = state.require_site()
    runtime.log.log(
        "INFO",
        LogCode.MACHINE_JOINED,
        SOURCE,
        f"Machine {name} joined the site (through {via[:256]}).",
        request_id=call.request_id,
    )


# -- the asking side ---------------------------------------------------------------------------
class _Remote:
    """Requests to one other machine's administrator URL (see the module's docstring)."""

    def __init__(self, url: str, ca_file: Path | None) -> None:
        self.url = url
        # Machines have self-signed certificates unless given others; with --join-ca (the
        # site's certificates or their CA) they are verified.
        verify: str | bool = str(ca_file) if ca_file is not None else False
        self._client = httpx.Client(
            timeout=_TIMEOUT_S,
            follow_redirects=False,
            verify=verify,
            trust_env=False,
        )

    def __enter__(self) -> _Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def call(self, method: str, base: str, operation: str, data: dict[str, str]) -> dict[str, Any]:
        target = f"{base}/{operation}"
        try:
            with self._client.stream(
                method,
                target,
                params=data if method == "GET" else None,
                data=data if method == "POST" else None,
            ) as answer:
                if answer.is_redirect:
                    raise InvalidParameter(
                        f"The machine at {self.url} answered with a redirect; geosite follows "
                        "none: give the machine's own administrator URL."
                    )
                body = b""
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > _MAX_ANSWER:
                        break
        except httpx.HTTPError:
            raise InvalidParameter(f"The machine at {self.url} cannot be reached.") from None
        try:
            payload = orjson.loads(body) if len(body) <= _MAX_ANSWER else None
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            raise InvalidParameter(f"{self.url} is not the administrator URL of a geosite machine.")
        return payload

    def probe(self, challenge: str = "") -> dict[str, Any]:
        info = self.call("GET", self.url, "joinInfo", {"f": "json", "challenge": challenge})
        port = info.get("httpsPort")
        if info.get("geosite") is not True or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidParameter(f"{self.url} is not the administrator URL of a geosite machine.")
        return info

    def secure(self, info: dict[str, Any]) -> str:
        return membership.with_port(self.url, "https", int(info["httpsPort"]))


def _refused(payload: dict[str, Any]) -> str:
    error = payload.get("error")
    if isinstance(error, dict):
        texts = [str(m) for m in (error.get("message"), *(error.get("details") or [])) if m]
        return " ".join(texts)[:500]
    messages = payload.get("messages")
    return " ".join(str(m) for m in messages)[:500] if isinstance(messages, list) else ""


def join_site(call: Call) -> dict[str, Any]:
    """``POST /admin/joinSite`` (``adminURL``, ``username``, ``password``) on a machine with
    no site: join the site of the machine at ``adminURL``."""
    state = call.state
    refuse_in_a_site(call)
    url = membership.admin_url(call.params.get("adminURL"))
    credentials = decrypted(call, ("username", "password"))
    username, password = credentials.require("username"), credentials.require("password")
    with _Remote(url, state.settings.join_ca_file) as remote:
        info = remote.probe()
        if info.get("site") is not True:
            raise InvalidParameter(f"The machine at {url} belongs to no site.")
        secure = remote.secure(info)
        login = remote.call(
            "POST",
            secure,
            "generateToken",
            {"username": username, "password": password, "client": "requestip", "f": "json"},
        )
        token = login.get("token")
        if not isinstance(token, str) or not token:
            raise InvalidParameter(
                f"The site at {url} did not accept the user name and password of an administrator."
            )
        offer = remote.call(
            "POST", secure, "system/configstore/offer", {"f": "json", "token": token}
        )
        if "error" in offer or "configStore" not in offer:
            raise InvalidParameter(
                f"The site at {url} did not give its store's connection: {_refused(offer)}"
            )
    own = own_admin_url(state)
    _join(call, membership.Offer.from_json(offer), state.machine_name, own, via=url)
    return {"status": "success"}


def register_machine(call: Call) -> dict[str, Any]:
    """``POST /admin/machines/register`` (``machineName``, ``adminURL``, and ``joinCode`` for
    a machine started with one): pull a waiting machine into the site."""
    state = call.state
    store = state.require_site().site.store
    name = _machine_name(call.params.get("machineName"))
    url = membership.admin_url(call.params.get("adminURL"))
    code = (call.params.get("joinCode") or "").strip()
    if store.get_machine(name) is not None:
        raise Conflict(f"The site has a machine named '{name}' already.")
    challenge = membership.new_challenge()
    with _Remote(url, state.settings.join_ca_file) as remote:
        info = remote.probe(challenge)
        if info.get("site") is not False:
            raise InvalidParameter(f"The machine at {url} participates in a site already.")
        if info.get("joinCodeRequired") is True and not code:
            raise InvalidParameter(
                f"The machine at {url} was started with a join code: give it as 'joinCode'."
            )
        if code and info.get("joinCodeRequired") is not True:
            raise InvalidParameter(f"The machine at {url} was started without a join code.")
        if code and not membership.proves(code, challenge, info.get("proof")):
            raise InvalidParameter(f"The join code does not match the machine's at {url}.")
        offer = _offer(state)
        sent = (
            membership.seal(offer, code, challenge)
            if code
            else orjson.dumps(offer.to_json()).decode()
        )
        answer = remote.call(
            "POST",
            remote.secure(info),
            "acceptSite",
            {
                "machineName": name,
                "adminURL": url,
                "challenge": challenge,
                "offer": sent,
                "f": "json",
            },
        )
    if answer.get("status") != "success":
        raise InvalidParameter(f"The machine at {url} did not join the site: {_refused(answer)}")
    if store.get_machine(name) is None:
        raise InvalidParameter(f"The machine at {url} answered, but is not in the site's store.")
    return {"status": "success"}


def delete_site(call: Call) -> dict[str, Any]:
    """``POST /admin/deleteSite``: remove the site from its last machine (its services and
    their data, uploads, logs and the configuration store); the machine then belongs to none."""
    state = call.state
    runtime = state.require_site()
    membership.refuse_delete(runtime.site)
    state.leave_site(membership.delete)
    return {"status": "success"}


ENDPOINTS = [
    Endpoint(
        "/joinInfo",
        join_info,
        privilege=None,
        needs_site=False,
        title="Join Information",
        description="What this machine shows of itself to a machine that registers or joins it.",
    ),
    Endpoint(
        "/joinSite",
        join_site,
        kind=OPERATION,
        privilege=None,
        needs_site=False,
        title="Join Site",
        fields=(
            Field("adminURL", "Administrator URL of a machine of the site", required=True),
            Field("username", "Administrator", required=True),
            Field("password", "Password", kind="password", required=True),
        ),
        description="Joins this machine, which belongs to no site, to an existing site.",
    ),
    Endpoint(
        "/acceptSite",
        accept_site,
        kind=OPERATION,
        privilege=None,
        needs_site=False,
        title="Accept Site",
        description="Receives a site's offer from the machine that registers this one.",
    ),
    Endpoint(
        "/deleteSite",
        delete_site,
        kind=OPERATION,
        title="Delete Site",
        description="Deletes the site from its last machine: services, data, logs and store.",
    ),
    Endpoint(
        "/machines/register",
        register_machine,
        kind=OPERATION,
        title="Register Machine",
        fields=(
            Field("machineName", "Machine name", required=True),
            Field("adminURL", "Administrator URL", required=True),
            Field("joinCode", "Join code (when the machine was started with one)"),
        ),
    ),
    Endpoint("/local", local_machine, title="Local Machine"),
    Endpoint("/system/configstore", configstore, title="Configuration Store"),
    Endpoint(
        "/system/configstore/offer",
        configstore_offer,
        kind=OPERATION,
        title="Offer",
        description="The store's connection, over HTTPS, for a machine that joins.",
    ),
]
