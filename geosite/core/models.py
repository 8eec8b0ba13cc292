"""Domain models shared by the core, the stores and the HTTP layer."""

from __future__ import annotations

import enum
import functools
import secrets
from dataclasses import dataclass, field
from typing import Any


class Privilege(enum.IntEnum):
    """ArcGIS Server privileges, ordered so that a higher value includes the lower ones."""

    ACCESS = 1
    PUBLISH = 2
    ADMINISTER = 3


def new_user_id() -> str:
    """A fresh random identifier for a user (128 bits, hex): no two users ever share one."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class User:
    """A user of the site's built-in identity store.

    ``user_id`` is made at random when the user is created and never reused: a token names
    it, so a token of a removed user never fits a new user of the same name (in any case).
    ``token_version`` moves whenever the user's earlier tokens must end.
    """

    username: str
    password_hash: str
    fullname: str = ""
    description: str = ""
    email: str = ""
    token_version: int = 1
    disabled: bool = False
    is_psa: bool = False
    user_id: str = field(default_factory=new_user_id)

    def public(self) -> dict[str, Any]:
        """The user as the Administrator API shows it (never the hash)."""
        return {
            "username": self.username,
            "fullname": self.fullname,
            "description": self.description,
            "email": self.email,
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class Role:
    """A role of the built-in identity store, with the privilege it gives its members."""

    rolename: str
    description: str = ""
    privilege: Privilege = Privilege.ACCESS

    def public(self) -> dict[str, Any]:
        """The role as the Administrator API shows it."""
        return {"rolename": self.rolename, "description": self.description}


@dataclass(frozen=True)
class Machine:
    """A server machine registered with the site."""

    name: str
    admin_url: str
    registered_ms: int
    last_seen_ms: int
    platform: str = ""
    configured_state: str = "STARTED"
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerDirectory:
    """A server directory (cache, jobs, output, system) on disk."""

    name: str
    physical_path: str
    directory_type: str
    cleanup_mode: str = "NONE"
    max_file_age: int = 0
    description: str = ""

    def public(self) -> dict[str, Any]:
        """The directory as ``/admin/system/directories`` shows it."""
        return {
            "name": self.name,
            "physicalPath": self.physical_path,
            "directoryType": self.directory_type,
            "cleanupMode": self.cleanup_mode,
            "maxFileAge": self.max_file_age,
            "description": self.description,
            # ArcGIS Server's per-machine copy of a directory, which geosite never uses: the
            # keys as a 10.5.1 site lists them (a string); none is served under /rest.
            "useLocalDir": "false",
            "localDirectoryPath": "",
            "virtualPath": "",
        }


@dataclass(frozen=True)
class TokenPolicy:
    """Token manager configuration (``/admin/security/tokens``); timeouts in minutes."""

    short_timeout: int = 60
    long_timeout: int = 1440
    allow_http_get: bool = False


@dataclass(frozen=True)
class LockoutPolicy:
    """Failed-login lockout (ArcGIS parity: 5 failures in 15 minutes lock for 15 minutes)."""

    max_failures: int = 5
    window_s: int = 900
    lock_s: int = 900
    max_failures_per_address: int = 100


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    username: str
    expires_ms: int
    client: str
    binding: str
    token_version: int
    key_version: int
    user_id: str


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    username: str
    privilege: Privilege
    expires_ms: int
    via_cookie: bool = False
    token_nonce: str = ""


@dataclass(frozen=True)
class LogRecord:
    """One structured log record, as stored in the site's log store."""

    time_ms: int
    level: str
    code: int
    source: str
    machine: str
    message: str
    process: int = 0
    thread: int = 0
    user: str = ""
    elapsed_ms: float | None = None
    request_id: str = ""
    method: str = ""


@dataclass(frozen=True)
class LogFilter:
    """Which log records a query wants; ``None`` means any value.

    ``services`` match the source of records about a service (``Maps/Cities.MapServer``);
    ``servers`` match the other sources (``Rest``, ``Admin``, ``Server``...).
    """

    codes: tuple[int, ...] | None = None
    process_ids: tuple[int, ...] | None = None
    request_ids: tuple[str, ...] | None = None
    services: tuple[str, ...] | None = None
    servers: tuple[str, ...] | None = None
    machines: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ServiceUsage:
    """Requests to one service on one machine in one minute (or summed over many)."""

    machine: str
    service: str  # the service's permission key, lower case: ``folder/name.type``
    minute_ms: int
    requests: int = 0
    failures: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


@dataclass(frozen=True)
class Folder:
    """A services folder (the root folder is not stored)."""

    name: str
    description: str = ""
    created_ms: int = 0


@dataclass(frozen=True)
class Service:
    """A published service; ``folder`` is "" for the root folder."""

    folder: str
    name: str
    type: str
    definition: dict[str, Any] = field(default_factory=dict)
    configured_state: str = "STARTED"
    created_ms: int = 0
    #: The user who published it: a PUBLISH user may manage only its own services.
    owner: str = ""

    @property
    def qualified_name(self) -> str:
        """``folder/name`` (or ``name`` in the root folder), as catalogs list it."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def resource(self) -> str:
        """The key its permissions are stored under."""
        return service_resource(self.folder, self.name, self.type)

    @functools.cached_property
    def data(self) -> ServiceData:
        """Where its feature data lives, and its layers."""
        return ServiceData.of(self.definition)


@dataclass(frozen=True)
class LayerDescription:
    """One layer of a service's feature data, as written at publish time.

    ``table`` names the layer's table in its source (a GeoPackage table, or ``schema.table``
    in PostGIS); ``fields`` are ArcGIS field JSON, the object id field first. Stored in the
    service's definition as ArcGIS-style JSON (``to_json``), read back with ``from_json``.
    """

    id: int
    name: str
    table: str
    geometry_type: str
    spatial_reference: dict[str, Any]
    extent: dict[str, Any]
    fields: tuple[dict[str, Any], ...]
    count: int = 0
    object_id_field: str = "OBJECTID"
    geometry_field: str = "Shape"

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LayerDescription:
        """A description from its stored JSON."""
        return cls(
            id=int(raw["id"]),
            name=str(raw["name"]),
            table=str(raw["table"]),
            geometry_type=str(raw["geometryType"]),
            spatial_reference=dict(raw["spatialReference"]),
            extent=dict(raw["extent"]),
            fields=tuple(dict(f) for f in raw["fields"]),
            count=int(raw.get("count") or 0),
            object_id_field=str(raw.get("objectIdField") or "OBJECTID"),
            geometry_field=str(raw.get("geometryField") or "Shape"),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored JSON."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "table": self.table,
            "geometryType": self.geometry_type,
            "fields": [dict(f) for f in self.fields],
            "spatialReference": dict(self.spatial_reference),
            "extent": dict(self.extent),
            "count": self.count,
        }
        if self.object_id_field != "OBJECTID":
            out["objectIdField"] = self.object_id_field
        if self.geometry_field != "Shape":
            out["geometryField"] = self.geometry_field
        return out

    @property
    def field_names(self) -> list[str]:
        """The names of the fields, in order."""
        return [str(f["name"]) for f in self.fields]

    @property
    def field_types(self) -> dict[str, str]:
        """Each field's ArcGIS type by name."""
        return {str(f["name"]): str(f["type"]) for f in self.fields}

    def field(self, name: str) -> dict[str, Any] | None:
        """The field JSON named exactly ``name``."""
        for spec in self.fields:
            if spec["name"] == name:
                return spec
        return None

    @property
    def global_id_field(self) -> str | None:
        """The name of the GlobalID field, if the layer has one."""
        for spec in self.fields:
            if spec["type"] == "esriFieldTypeGlobalID":
                return str(spec["name"])
        return None


@dataclass(frozen=True)
class ServiceData:
    """Where a service's feature data lives and what its layers are (the typed form of the
    definition's private ``_geosite`` part).

    ``location`` is what the feature-source registry opens (``geosite.data.sources``): the
    path of a GeoPackage, or a ``postgis:`` location; "" for a service without data (the
    Geometry service).
    """

    location: str = ""
    layers: tuple[LayerDescription, ...] = ()
    source_item: str = ""
    #: A table of a registered database served where it is (never deleted with the service).
    by_reference: bool = False

    @classmethod
    def of(cls, definition: dict[str, Any]) -> ServiceData:
        """The data part of a stored service definition."""
        raw = definition.get("_geosite") or {}
        return cls(
            location=str(raw.get("data") or ""),
            layers=tuple(LayerDescription.from_json(layer) for layer in raw.get("layers") or ()),
            source_item=str(raw.get("sourceItem") or ""),
            by_reference=bool(raw.get("byReference")),
        )


def service_resource(folder: str, name: str, type_: str) -> str:
    """The permission key of a service: ``folder/name.type`` (``/name.type`` in the root)."""
    return f"{folder}/{name}.{type_}"


@dataclass(frozen=True)
class Permission:
    """Allow or deny a role (or ``esriEveryone``) on the root, a folder or a service.

    ``resource`` is "" for the root folder, a folder's name, or ``folder/name.type`` (a
    service in the root is ``/name.type``).
    """

    resource: str
    principal: str
    is_allowed: bool = True

    def public(self) -> dict[str, Any]:
        """The permission as the Administrator API lists it."""
        return {
            "principal": self.principal,
            "permission": {"isAllowed": self.is_allowed, "constraint": ""},
            "childURL": "",
            "operation": "",
        }


@dataclass(frozen=True)
class DataItem:
    """A registered data store item: for now a folder on the server's disk (``/fileShares/x``)."""

    path: str
    type: str
    info: dict[str, Any] = field(default_factory=dict)
    client_path: str | None = None
    created_ms: int = 0

    def public(self) -> dict[str, Any]:
        """The item as the Administrator API shows it."""
        return {
            "path": self.path,
            "type": self.type,
            "clientPath": self.client_path,
            "info": dict(self.info),
            "provider": "geosite",
        }


@dataclass(frozen=True)
class DatabaseConnection:
    """How to reach a registered PostgreSQL database (``/enterpriseDatabases/<name>``), its
    password decrypted: never shown, logged or stored as it is (``repr`` leaves it out)."""

    host: str
    port: int
    database: str
    user: str
    password: str = field(repr=False)
    sslmode: str = "prefer"


@dataclass(frozen=True)
class UploadItem:
    """A file uploaded through ``/admin/uploads/upload``."""

    item_id: str
    item_name: str
    path: str
    size: int
    created_ms: int
    description: str = ""
    #: The user who uploaded it: a PUBLISH user sees and uses only its own uploads.
    owner: str = ""

    def public(self) -> dict[str, Any]:
        """The item as the Administrator API shows it (never the server path)."""
        return {
            "itemID": self.item_id,
            "itemName": self.item_name,
            "description": self.description,
            "pathOnServer": "",
            "date": self.created_ms,
            "committed": True,
            "size": self.size,
        }


@dataclass
class SiteConfiguration:
    """What a site backup holds and a restore puts back, all at once.

    Not in it: the primary site administrator (a restore keeps the current one), machines,
    server directories, token signing keys, uploads, logs and usage counts.
    """

    settings: dict[str, Any] = field(default_factory=dict)
    users: list[User] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    #: (rolename, username) pairs.
    members: list[tuple[str, str]] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    permissions: list[Permission] = field(default_factory=list)
    data_items: list[DataItem] = field(default_factory=list)
