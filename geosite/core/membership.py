"""Machines joining and leaving a site: ``joinSite``, ``machines/register``, ``deleteSite``.

A machine belongs to a site through ``machine.json`` (``geosite.core.site``), which names the
site's configuration store. Joining is writing that file for a store that holds a site, and
registering the machine in it; the store's connection comes from a machine of the site:

- ``joinSite`` (push): the new machine proves an administrator's credentials to a machine of
  the site, which then gives it the store's connection;
- ``machines/register`` (pull): an administrator of the site names a machine that waits with
  no site (``geosite serve --no-site``); the site probes it first and, when the machine was
  started with a join code, the machine must prove that it knows the code (an HMAC of a fresh
  challenge) and the offer it receives is sealed with a key derived from the code.

The HTTP exchanges are the application's (``geosite.http.admin.joining``); here are the rules,
the cryptography and the changes to this machine and the store.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import platform
import re
import secrets
import shutil
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from geosite.core import data_locations, sealing
from geosite.core.clock import Clock
from geosite.core.models import Machine
from geosite.core.services import data_directory, data_lock
from geosite.core.site import (
    POINTER,
    Site,
    SitePointer,
    StoreOpener,
    read_pointer,
    site_lock,
    write_pointer,
)
from geosite.errors import Conflict, InvalidParameter

_MAX_URL = 2048
_CHALLENGE_BYTES = 16
_INFO = b"geosite join offer"


def admin_url(value: Any, name: str = "adminURL") -> str:
    """An administrator URL another machine is reached at (``http(s)://host[:port]/<context>
    /admin``), checked: no user name, query or fragment, a port that is a number; the URL with
    no trailing slash. ``InvalidParameter`` names what is wrong."""
    text = str(value or "").strip().rstrip("/")
    if not text:
        raise InvalidParameter(f"Missing parameter '{name}'.")
    problem = (
        f"'{name}' must be a machine's administrator URL, such as https://host:6443/arcgis/admin."
    )
    if len(text) > _MAX_URL or not text.isprintable():
        raise InvalidParameter(problem)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidParameter(problem) from None
    if (
        parts.scheme not in ("http", "https")
        or not _host(parts.hostname or "")
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or (port is not None and not 0 < port < 65536)
        or not parts.path.endswith("/admin")
        or "/../" in parts.path + "/"
    ):
        raise InvalidParameter(problem)
    return text


_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _host(host: str) -> bool:
    """Whether ``host`` is an IP address or an ASCII host name (labels of 1 to 63 letters,
    digits and inner hyphens; 253 characters at most), as a request can be sent to."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_LABEL.match(label) for label in labels)


def with_port(url: str, scheme: str, port: int) -> str:
    """``url`` (checked by ``admin_url``) with another scheme and port: a machine's HTTPS
    address from the one an administrator gave."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return parts._replace(scheme=scheme, netloc=f"{shown}:{port}").geturl()


# -- the join code ---------------------------------------------------------------------------
def new_challenge() -> str:
    """A fresh random challenge (hex) for one probe."""
    return secrets.token_hex(_CHALLENGE_BYTES)


def valid_challenge(value: Any) -> str | None:
    """The challenge a probe carries when it is one (32 to 128 hex digits)."""
    text = str(value or "")
    if 32 <= len(text) <= 128 and all(c in "0123456789abcdef" for c in text):
        return text
    return None


def proof(code: str, challenge: str) -> str:
    """What a waiting machine answers to show that it knows the join code."""
    return hmac.new(code.encode(), b"geosite join proof:" + challenge.encode(), sha256).hexdigest()


def proves(code: str, challenge: str, answered: Any) -> bool:
    """Whether ``answered`` is the proof of ``code`` for ``challenge`` (constant time)."""
    return isinstance(answered, str) and hmac.compare_digest(proof(code, challenge), answered)


def _offer_key(code: str, challenge: str) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=challenge.encode(), info=_INFO)
    return kdf.derive(code.encode())


@dataclass(frozen=True)
class Offer:
    """What a machine of the site gives a machine that joins it."""

    config_store: str
    data_store: str | None = None
    #: The key the site's secrets are sealed with (``geosite.core.sealing``).
    site_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The offer as JSON (it holds the store's password and the site key: only ever sent
        over HTTPS, or sealed with a join code)."""
        return {
            "configStore": self.config_store,
            "dataStore": self.data_store,
            "siteKey": self.site_key,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Offer:
        """An offer from its JSON; ``InvalidParameter`` when it is not one."""
        store = raw.get("configStore") if isinstance(raw, dict) else None
        data = raw.get("dataStore") if isinstance(raw, dict) else None
        key = raw.get("siteKey") if isinstance(raw, dict) else None
        if not isinstance(store, str) or not store or len(store) > _MAX_URL:
            raise InvalidParameter("The site's offer names no configuration store.")
        if data is not None and (not isinstance(data, str) or len(data) > _MAX_URL):
            raise InvalidParameter("The site's offer names an unusable data store.")
        if key is not None and sealing.valid_key(key) is None:
            raise InvalidParameter("The site's offer holds an unusable site key.")
        return cls(store, data or None, key)


def seal(offer: Offer, code: str, challenge: str) -> str:
    """The offer encrypted for the machine that knows ``code`` (AES-256-GCM)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_offer_key(code, challenge)).encrypt(
        nonce, orjson.dumps(offer.to_json()), challenge.encode()
    )
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(text: str, code: str, challenge: str) -> Offer:
    """The offer ``seal`` made; ``InvalidParameter`` when it was not made with ``code``."""
    try:
        data = base64.urlsafe_b64decode(text.encode())
        clear = AESGCM(_offer_key(code, challenge)).decrypt(
            data[:12], data[12:], challenge.encode()
        )
        return Offer.from_json(orjson.loads(clear))
    except (ValueError, binascii.Error, InvalidTag, orjson.JSONDecodeError):
        raise InvalidParameter("The join code does not match this machine's.") from None


# -- this machine joins, the site ends ---------------------------------------------------------
def join(
    data_dir: Path,
    offer: Offer,
    clock: Clock,
    *,
    machine_name: str,
    machine_admin_url: str,
    machine_properties: dict[str, Any],
    open_stores: StoreOpener,
) -> SitePointer:
    """Make this machine a member of the site whose store ``offer`` names: registered in the
    store, then ``machine.json`` written. Raises ``Conflict`` when this machine belongs to a
    site or the site has a machine of this name, ``InvalidParameter`` when the store holds no
    site; nothing is changed then."""
    with site_lock(data_dir):
        if read_pointer(data_dir) is not None:
            raise Conflict("This machine already participates in a site.")
        _refuse_empty_folder(offer.config_store)
        site_store, log_store = open_stores(offer.config_store)
        try:
            site_store.initialize_schema()
            log_store.initialize_schema()
            if site_store.get_setting("site") is None:
                raise InvalidParameter("The configuration store the site named holds no site.")
            sealing.require_key(offer.site_key, site_store.get_setting(sealing.CHECK_SETTING))
            if site_store.get_machine(machine_name) is not None:
                raise Conflict(
                    f"The site has a machine named '{machine_name}' already: start this "
                    "machine with another name (GEOSITE_MACHINE_NAME) or unregister that one."
                )
            now = clock.now_ms()
            site_store.add_machine(
                Machine(
                    name=machine_name,
                    admin_url=machine_admin_url,
                    registered_ms=now,
                    last_seen_ms=now,
                    platform=f"{platform.system()} {platform.release()}-{platform.machine()}",
                    properties=machine_properties,
                )
            )
        finally:
            site_store.close()
            log_store.close()
        pointer = SitePointer(
            machine_name, offer.config_store, offer.data_store, site_key=offer.site_key
        )
        write_pointer(data_dir, pointer)
        return pointer


def _refuse_empty_folder(config_store: str) -> None:
    """An SQLite store is opened only where a site's files are: opening one elsewhere would
    make its folder and files at a path the offer names."""
    if config_store.startswith("sqlite:///"):
        folder = Path(config_store.removeprefix("sqlite:///"))
        if not (folder / "site.db").is_file():
            raise InvalidParameter("The configuration store the site named holds no site.")


def refuse_delete(site: Site) -> None:
    """``InvalidParameter`` unless this machine is the last of its site (``deleteSite``)."""
    others = [
        m.name for m in site.store.list_machines() if m.name.upper() != site.machine_name.upper()
    ]
    if others:
        raise InvalidParameter(
            "The site has other machines (" + ", ".join(sorted(others)[:10]) + "): unregister "
            "them first. deleteSite removes a site from its last machine."
        )


def delete(site: Site) -> None:
    """``deleteSite``: remove the site from its last machine, which then belongs to none.

    The services' data (GeoPackages, and the schemas the site loaded into PostGIS; tables it
    serves by reference stay), the uploads, the server directories inside the data directory
    (those elsewhere keep everything but what geosite put there), the log folder inside the
    data directory, and both stores. The caller has stopped this process's users of the
    stores (its log writer) and closes ``site`` after."""
    refuse_delete(site)
    store, data_dir = site.store, site.data_dir.resolve()
    with site_lock(site.data_dir):
        with data_lock(store):
            for service in store.list_services():
                data_locations.remove_data(service.definition, store)
        services = data_directory(store)
        folders = [Path(d.physical_path) for d in store.list_directories()]
        log_dir = (store.get_setting("logSettings") or {}).get("logDir")
        store.destroy()
        site.logs.destroy()
        for folder in (*folders, Path(log_dir) if isinstance(log_dir, str) and log_dir else None):
            if folder is None:
                continue
            if _inside(folder, data_dir):
                shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(services, ignore_errors=True)
        shutil.rmtree(services.parent / "uploads", ignore_errors=True)
        pointer = read_pointer(site.data_dir)
        if pointer is not None and pointer.config_store.startswith("sqlite:///"):
            store_dir = Path(pointer.config_store.removeprefix("sqlite:///"))
            if _inside(store_dir, data_dir):
                shutil.rmtree(store_dir, ignore_errors=True)
        (site.data_dir / POINTER).unlink(missing_ok=True)


def _inside(folder: Path, root: Path) -> bool:
    resolved = folder.resolve()
    return resolved != root and root in resolved.parents
