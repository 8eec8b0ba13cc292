"""Registered PostgreSQL databases: ``/enterpriseDatabases/<name>`` data items (type ``egdb``).

ArcGIS's data item JSON for an enterprise geodatabase::

    {"path": "/enterpriseDatabases/<name>", "type": "egdb",
     "info": {"dataStoreConnectionType": "shared", "isManaged": false,
              "connectionString": "SERVER=db.example.com;INSTANCE=sde:postgresql:db.example.com,
                  5432;DBCLIENT=postgresql;DB_CONNECTION_PROPERTIES=db.example.com,5432;
                  DATABASE=gis;USER=reader;AUTHENTICATION_MODE=DBMS;PASSWORD=..."}}

The connection string is that form, with ``PASSWORD=<clear text>`` or the
``ENCRYPTED_PASSWORD`` this site showed for the same connection, or a
``postgresql://user:password@host:port/database?sslmode=...`` URL (percent-encoded: the one
way to give a password holding ``;``). Only PostgreSQL (``DBCLIENT=postgresql``) with database
authentication (``AUTHENTICATION_MODE=DBMS``) is supported. Messages about a connection string
never quote it: a misplaced ``;`` can put part of a password anywhere in it.

The password is encrypted with the site's own key (AES-256-GCM, a fresh nonce each time), with
the host, port, database, user and sslmode as associated data: a cipher text decrypts only for
the connection it was made for, so posting it back with another host does not make the server
send the password there. The key is made once per site (``add_setting``: workers agree on one),
lives in the site's store (a file only the server's user may read) and never in a backup: a
site restored from another site's backup must be given its database passwords again
(``/data/items/enterpriseDatabases/<name>/edit``).

What is stored and shown is the connection string in ArcGIS's form, its password as
``ENCRYPTED_PASSWORD=gs1.<cipher text>``; the clear password is never stored, answered or
logged. Only :func:`database_connection` decrypts it, for the code that connects.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from geosite.core import sealing
from geosite.core.models import DatabaseConnection, DataItem
from geosite.errors import InternalError, InvalidParameter, NotFound
from geosite.storage.base import SiteStore

ROOT = "/enterpriseDatabases"
TYPE = "egdb"
#: The site's key for data item passwords (``{"key": <base64url of 32 bytes>}``).
KEY_SETTING = "security.dataItemKey"
#: What that key is sealed as in the store (``geosite.core.sealing``).
_KEY_PURPOSE = "data item key"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
CONNECTION_TYPES = ("shared", "serverOnly", "replicated")
_PREFIX = "gs1."
_MAX_STRING = 4096
_MAX_PASSWORD = 512
_MAX_CIPHER = 1024
_ITEM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$")
_NAME = re.compile(r"^[A-Za-z0-9_.$@-]{1,63}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_KEYS = (
    "SERVER",
    "INSTANCE",
    "DBCLIENT",
    "DB_CONNECTION_PROPERTIES",
    "DATABASE",
    "USER",
    "PASSWORD",
    "ENCRYPTED_PASSWORD",
    "AUTHENTICATION_MODE",
    "SSLMODE",
    "VERSION",  # a geodatabase version (sde.DEFAULT): accepted, and not kept
)
_FORM = (
    "The connection string must be KEY=value pairs separated by ';' "
    f"({', '.join(_KEYS)}), or a postgresql:// URL. A password that holds ';' must be given "
    "in a postgresql:// URL, percent-encoded."
)


def item_path(path: Any) -> str:
    """``/enterpriseDatabases/<name>``, checked."""
    text = str(path or "").strip().rstrip("/")
    parent, _, name = text.rpartition("/")
    if parent.lower() != ROOT.lower() or not _ITEM_NAME.match(name) or ".." in name:
        raise InvalidParameter(
            "Databases (type 'egdb') are registered at '/enterpriseDatabases/<name>' "
            "(letters, digits, '_', '-', '.')."
        )
    return f"{ROOT}/{name}"


# -- the site's key --------------------------------------------------------------------------------
def _site_key(store: SiteStore) -> bytes:
    stored = store.get_setting(KEY_SETTING)
    seal = sealing.of(store)
    if stored is None:
        made = base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()
        stored = store.add_setting(KEY_SETTING, {"key": seal.seal(made, _KEY_PURPOSE)})
    try:
        key = base64.urlsafe_b64decode(seal.open(str(stored["key"]), _KEY_PURPOSE))
    except (KeyError, TypeError, ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise InternalError(private=["the site's key for data item passwords is unreadable"])
    return key


def _associated(connection: DatabaseConnection) -> bytes:
    parts = (connection.host, str(connection.port), connection.database, connection.user)
    return "\x00".join((*parts, connection.sslmode)).encode()


def _encrypt(store: SiteStore, connection: DatabaseConnection) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_site_key(store)).encrypt(
        nonce, connection.password.encode(), _associated(connection)
    )
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def _decrypt(store: SiteStore, cipher: str, connection: DatabaseConnection) -> str:
    """The password ``cipher`` holds for ``connection`` (whose password is ignored)."""
    if not cipher.startswith(_PREFIX) or len(cipher) > _MAX_CIPHER:
        raise InvalidParameter(
            "ENCRYPTED_PASSWORD was not made by this site (another server's cipher text cannot "
            "be read here): give the password as PASSWORD=<password>."
        )
    body = cipher[len(_PREFIX) :]
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        clear = AESGCM(_site_key(store)).decrypt(data[:12], data[12:], _associated(connection))
        return clear.decode()
    except (ValueError, binascii.Error, InvalidTag, UnicodeDecodeError):
        raise InvalidParameter(
            "ENCRYPTED_PASSWORD does not decrypt with this site's key for this host, port, "
            "database, user and sslmode: give the password as PASSWORD=<password>."
        ) from None


# -- connection strings ----------------------------------------------------------------------------
def _host(text: str) -> str:
    text = text.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOSTNAME.match(text):
        raise InvalidParameter("The database host must be a host name or an IP address.")
    return text.lower()


def _port(text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 5 or not 0 < int(text) < 65536:
        raise InvalidParameter("The database port must be a number from 1 to 65535.")
    return int(text)


def _name(text: str, what: str) -> str:
    if not _NAME.match(text):
        raise InvalidParameter(
            f"The {what} name must be 1 to 63 letters, digits or '_', '.', '$', '@', '-'."
        )
    return text


def _password(text: str) -> str:
    if not 0 < len(text) <= _MAX_PASSWORD:
        raise InvalidParameter(f"The password must be 1 to {_MAX_PASSWORD} characters long.")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InvalidParameter("The password must not hold control characters.")
    return text


def _sslmode(text: str) -> str:
    mode = text.strip().lower() or "prefer"
    if mode not in SSL_MODES:
        raise InvalidParameter(f"sslmode must be one of {', '.join(SSL_MODES)}.")
    return mode


def _pairs(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for piece in text.split(";"):
        if not piece.strip():
            continue
        key, equals, value = piece.partition("=")
        key = key.strip().upper()
        if not equals or key not in _KEYS or key in found:
            raise InvalidParameter(_FORM)
        found[key] = value if key == "PASSWORD" else value.strip()
    return found


def _client_and_address(pairs: dict[str, str]) -> tuple[str, str]:
    """The DBCLIENT and the ``host[,port]`` the pairs name."""
    instance = pairs.get("INSTANCE", "")
    client, address = pairs.get("DBCLIENT", "").lower(), ""
    if instance.lower().startswith("sde:"):
        _, inst_client, address = instance.split(":", 2)
        client = client or inst_client.strip().lower()
    elif instance:
        address = instance
    if client != "postgresql":
        shown = f" ('{client[:32]}')" if re.fullmatch(r"[a-z0-9_]{1,32}", client) else ""
        raise InvalidParameter(
            f"Only PostgreSQL databases can be registered (DBCLIENT=postgresql){shown}."
        )
    address = pairs.get("DB_CONNECTION_PROPERTIES") or address or pairs.get("SERVER", "")
    return client, address


def _from_pairs(store: SiteStore, text: str) -> DatabaseConnection:
    pairs = _pairs(text)
    _, address = _client_and_address(pairs)
    if pairs.get("AUTHENTICATION_MODE", "DBMS").upper() != "DBMS":
        raise InvalidParameter(
            "Only database authentication (AUTHENTICATION_MODE=DBMS) is supported."
        )
    host, _, port = address.partition(",")
    if not host.strip():
        raise InvalidParameter("The connection string names no host (SERVER=<host>).")
    if ("PASSWORD" in pairs) == ("ENCRYPTED_PASSWORD" in pairs):
        raise InvalidParameter("Give the password, as PASSWORD= or ENCRYPTED_PASSWORD=.")
    connection = DatabaseConnection(
        host=_host(host),
        port=_port(port) if port.strip() else 5432,
        database=_name(pairs.get("DATABASE", ""), "database"),
        user=_name(pairs.get("USER", ""), "user"),
        password="",
        sslmode=_sslmode(pairs.get("SSLMODE", "")),
    )
    if "PASSWORD" in pairs:
        return _with_password(connection, _password(pairs["PASSWORD"]))
    return _with_password(connection, _decrypt(store, pairs["ENCRYPTED_PASSWORD"], connection))


def _from_url(text: str) -> DatabaseConnection:
    try:
        url = urlsplit(text.strip())
        port = url.port
        host = url.hostname
        query = parse_qsl(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError:
        raise InvalidParameter("The postgresql:// URL cannot be read.") from None
    if url.fragment or not host or not url.username or url.password is None:
        raise InvalidParameter(
            "The URL must be postgresql://<user>:<password>@<host>[:<port>]/<database>."
        )
    if any(name != "sslmode" for name, _ in query) or len(query) > 1:
        raise InvalidParameter("The URL's only parameter can be sslmode.")
    return DatabaseConnection(
        host=_host(host),
        port=port if port else 5432,
        database=_name(unquote(url.path.removeprefix("/")), "database"),
        user=_name(unquote(url.username), "user"),
        password=_password(unquote(url.password)),
        sslmode=_sslmode(dict(query).get("sslmode", "")),
    )


def _with_password(connection: DatabaseConnection, password: str) -> DatabaseConnection:
    return DatabaseConnection(
        connection.host,
        connection.port,
        connection.database,
        connection.user,
        password,
        connection.sslmode,
    )


def parse_connection_string(store: SiteStore, text: Any) -> DatabaseConnection:
    """The connection a connection string names, its password in clear (decrypted when it
    came as this site's ``ENCRYPTED_PASSWORD``)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameter("'info.connectionString' must name the database.")
    if len(text) > _MAX_STRING:
        raise InvalidParameter(f"The connection string is longer than {_MAX_STRING} characters.")
    if any(unicodedata.category(c) == "Cc" for c in text):  # NUL, and what URLs drop
        raise InvalidParameter(
            "The connection string must not hold NUL bytes or other control characters."
        )
    if re.match(r"^\s*postgres(?:ql)?://", text, re.IGNORECASE):
        return _from_url(text)
    return _from_pairs(store, text)


def connection_string(connection: DatabaseConnection, cipher: str) -> str:
    """ArcGIS's form of a connection string, with ``cipher`` as its password."""
    address = f"{connection.host},{connection.port}"
    parts = [
        f"SERVER={connection.host}",
        f"INSTANCE=sde:postgresql:{address}",
        "DBCLIENT=postgresql",
        f"DB_CONNECTION_PROPERTIES={address}",
        f"DATABASE={connection.database}",
        f"USER={connection.user}",
        "AUTHENTICATION_MODE=DBMS",
    ]
    if connection.sslmode != "prefer":
        parts.append(f"SSLMODE={connection.sslmode}")
    return ";".join([*parts, f"ENCRYPTED_PASSWORD={cipher}"])


# -- data items ------------------------------------------------------------------------------------
def _connection_type(info: dict[str, Any]) -> str:
    given = str(info.get("dataStoreConnectionType") or "shared").lower()
    for kind in CONNECTION_TYPES:
        if kind.lower() == given:
            return kind
    raise InvalidParameter(
        f"'dataStoreConnectionType' must be one of {', '.join(CONNECTION_TYPES)}."
    )


def checked_item(store: SiteStore, raw: dict[str, Any]) -> tuple[DataItem, DatabaseConnection]:
    """A database data item JSON validated (nothing is connected to): the item as it is
    stored, its password encrypted, and the connection it names."""
    if str(raw.get("type") or "").lower() != TYPE:
        raise InvalidParameter("Databases are registered with type 'egdb'.")
    path = item_path(raw.get("path"))
    info = raw.get("info")
    if not isinstance(info, dict):
        raise InvalidParameter("'info' must hold the database's connectionString.")
    managed = info.get("isManaged", False)
    if managed not in (False, "false", None):
        raise InvalidParameter("geosite manages no database: 'isManaged' must be false.")
    kind = _connection_type(info)
    connection = parse_connection_string(store, info.get("connectionString"))
    client = raw.get("clientPath")
    item = DataItem(
        path=path,
        type=TYPE,
        info={
            "dataStoreConnectionType": kind,
            "isManaged": False,
            "connectionString": connection_string(connection, _encrypt(store, connection)),
        },
        client_path=client[:1024] if isinstance(client, str) and client else None,
    )
    return item, connection


def check_restored(item: DataItem) -> None:
    """A database item a backup brings: as this server writes them, its password encrypted
    (never ``PASSWORD=`` or a URL). Not decrypted: the key may be another site's, and
    ``edit`` gives the password again."""
    path = item_path(item.path)
    text = item.info.get("connectionString")
    refused = InvalidParameter(
        f"The backup's data item '{path}' is not a database item as geosite writes them "
        "(its password encrypted)."
    )
    if (
        not isinstance(text, str)
        or len(text) > _MAX_STRING
        or any(unicodedata.category(c) == "Cc" for c in text)
    ):
        raise refused
    try:
        pairs = _pairs(text)
    except InvalidParameter:
        raise refused from None
    if "PASSWORD" in pairs or not pairs.get("ENCRYPTED_PASSWORD", "").startswith(_PREFIX):
        raise refused


def database_connection(store: SiteStore, path: str) -> DatabaseConnection:
    """How to reach the database registered at ``path`` (``/enterpriseDatabases/<name>``),
    its password decrypted: for the code that connects, never for an answer."""
    item = store.get_data_item(item_path(path))
    if item is None:
        raise NotFound(f"No database is registered at '{str(path).strip()[:128]}'.")
    if item.type != TYPE:
        raise InvalidParameter(f"'{item.path}' is not a database.")
    try:
        return parse_connection_string(store, item.info.get("connectionString"))
    except InvalidParameter:
        raise InvalidParameter(
            f"The password of {item.path} cannot be decrypted with this site's key (a site "
            "restored from another site's backup): give it again with "
            f"/admin/data/items{item.path}/edit."
        ) from None
