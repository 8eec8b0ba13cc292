"""Site backups (``exportSite``) and restores (``importSite``).

A backup is a zip file (``.agssite``, like ArcGIS's) holding:

* ``manifest.json``: what it is, when and from which site it was made;
* ``configuration.json``: users (with their password hashes, so keep backups private), roles
  and members, folders, services, permissions, data items and the site's settings for logs,
  tokens, passwords and usage reports (checked as the API checks them when restored);
* ``services/<n>.gpkg``: the data the site holds for each service, copied consistently.

Not in it, as in ArcGIS: the primary site administrator (a restore keeps the current one),
machines, server directories, security configuration, token keys, uploads, logs and usage
counts. A restore replaces the whole configuration at once, and every restored user's
earlier tokens stop working.

Version 2 of the format gives each user its identifier (``user_id``); a restored user keeps
it while the site still has that same user, and gets a fresh one otherwise (a version 1
backup, or a user removed since the backup: the tokens it got after the backup are not
known, so they must not fit the restored user).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geosite.core import (
    data_locations,
    databases,
    log_settings,
    password_policy,
    security,
    services,
    system_properties,
    uploads,
    usage_reports,
)
from geosite.core.clock import Clock
from geosite.core.models import (
    DataItem,
    Folder,
    Permission,
    Privilege,
    Role,
    Service,
    SiteConfiguration,
    TokenPolicy,
    User,
    new_user_id,
)
from geosite.core.site import validate_username
from geosite.core.utilities import DATALESS_TYPES
from geosite.core.values import whole_number
from geosite.errors import InvalidParameter, NotFound
from geosite.files import FILE_MODE, private_dir
from geosite.storage.base import SiteStore

FORMAT = "geosite-site-backup"
VERSION = 2
_READABLE = (1, 2)  # version 1: users without their identifier
SUFFIX = ".agssite"
#: The settings a backup carries (the others belong to the machine or the running site).
SETTINGS = (
    log_settings.SETTING,
    password_policy.SETTING,
    usage_reports.SETTING,
    usage_reports.SETTINGS,
    security.TOKEN_POLICY,
    system_properties.SETTING,
)
#: Bounds on what a backup may expand to when it is restored.
LIMITS = uploads.ArchiveLimits(max_total_bytes=256 * 1024**3, max_members=1_000_000)
_MEMBER = re.compile(r"^services/[0-9a-f]{32}\.gpkg$")
#: Copies a GeoPackage consistently while it may be written to (``data`` layer's job).
CopyData = Callable[[Path, Path], None]


def backups_directory(store: SiteStore) -> Path:
    """Where backups go when no location is given (next to uploads, in the SYSTEM directory)."""
    return uploads.uploads_directory(store).parent / "backups"


_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.agssite$")


def list_backups(store: SiteStore) -> list[dict[str, Any]]:
    """The backups in the site's backups folder (where ``exportSite`` writes by default),
    newest first: ``name``, ``size`` in bytes and ``modified`` in ms since 1970."""
    directory = backups_directory(store)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if not _BACKUP_NAME.match(path.name) or path.is_symlink():
            continue
        try:
            info = path.stat()
        except OSError:  # removed meanwhile
            continue
        if stat.S_ISREG(info.st_mode):
            found.append(
                {"name": path.name, "size": info.st_size, "modified": info.st_mtime_ns // 10**6}
            )
    return sorted(found, key=lambda item: (-int(item["modified"]), str(item["name"])))


def backup_file(store: SiteStore, name: str) -> Path:
    """The path of the backup ``name`` in the site's backups folder, or ``NotFound``."""
    path = backups_directory(store) / name
    if not _BACKUP_NAME.match(name) or path.is_symlink() or not path.is_file():
        raise NotFound(f"Could not find the backup '{name[:256]}'.")
    return path


def _data_path(service: Service) -> str:
    info = service.definition.get("_geosite")
    return str(info.get("data", "")) if isinstance(info, dict) else ""


def _with_data(service: Service, path: str) -> Service:
    definition = dict(service.definition)
    definition["_geosite"] = {**(definition.get("_geosite") or {}), "data": path}
    return dataclasses.replace(service, definition=definition)


def snapshot(store: SiteStore) -> SiteConfiguration:
    """What a backup holds, read from the store."""
    users = [u for u in store.search_users("", 10_000_000)[0] if not u.is_psa]
    roles = store.search_roles("", 10_000_000)[0]
    members = [(r.rolename, name) for r in roles for name in store.role_members(r.rolename)]
    settings = {key: store.get_setting(key) for key in SETTINGS}
    return SiteConfiguration(
        settings={k: v for k, v in settings.items() if v is not None},
        users=users,
        roles=roles,
        members=members,
        folders=store.list_folders(),
        services=store.list_services(),
        permissions=store.list_permissions(),
        data_items=store.list_data_items(),
    )


def _target_directory(store: SiteStore, location: str) -> Path:
    if not location.strip():
        directory = backups_directory(store)
        return private_dir(directory)
    directory = Path(location.strip())
    if not directory.is_absolute() or not directory.is_dir() or not os.access(directory, os.W_OK):
        raise InvalidParameter(
            f"The location '{location[:256]}' is not an existing folder the server can write to."
        )
    resolved = directory.resolve()
    allowed = [Path(d.physical_path).resolve() for d in store.list_directories()]
    if not any(resolved.is_relative_to(root) for root in allowed):
        raise InvalidParameter(
            f"The location '{location[:256]}' is not inside one of the site's server "
            "directories (admin/system/directories)."
        )
    return resolved


def export_site(
    store: SiteStore, clock: Clock, location: str, copy_data: CopyData, made_by: str
) -> Path:
    """Write a backup into ``location`` (default: the site's backups folder); its path."""
    directory = _target_directory(store, location)
    config = snapshot(store)
    stamp = clock.now_ms()
    name = f"geosite-site-{stamp}-{secrets.token_hex(3)}{SUFFIX}"
    target = directory / name
    partial = directory / f".{name}.partial"
    archived: list[Service] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".backup-", dir=directory) as work,
            zipfile.ZipFile(partial, "x", zipfile.ZIP_DEFLATED) as archive,
        ):
            for service in config.services:
                if service.type in DATALESS_TYPES or not data_locations.is_file_location(
                    _data_path(service)
                ):  # the Geometry service, or data a database keeps (backed up with it)
                    archived.append(service)
                    continue
                source = Path(_data_path(service))
                if not source.is_file():
                    raise NotFound(f"The data of service '{service.qualified_name}' is missing.")
                member = f"services/{secrets.token_hex(16)}.gpkg"
                copy = Path(work) / member.split("/")[1]
                copy_data(source, copy)
                archive.write(copy, member, compress_type=zipfile.ZIP_STORED)
                copy.unlink()
                archived.append(_with_data(service, member))
            config.services = archived
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "createdMs": stamp,
                "madeBy": made_by,
                "counts": _counts(config),
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            archive.writestr("configuration.json", json.dumps(_encode(config)))
        partial.chmod(FILE_MODE)  # it holds password hashes
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def import_site(
    store: SiteStore, location: str, limits: uploads.ArchiveLimits = LIMITS
) -> dict[str, Any]:
    """Put the site back to a backup's configuration; what was restored."""
    source = Path(location.strip())
    if not location.strip() or not source.is_absolute() or not source.is_file():
        raise InvalidParameter(f"No backup file at '{location[:256]}'.")
    placed: list[Path] = []
    # A locked workspace: a restore killed meanwhile leaves it to the start-up quarantine.
    with services.workspace(store, services.RESTORE_PREFIX) as work:
        root = uploads.extract_archive(source, work / "backup", limits)
        manifest = _read_json(root / "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InvalidParameter("The file is not a geosite site backup.")
        if manifest.get("version") not in _READABLE:
            raise InvalidParameter(f"Backups of version {manifest.get('version')!r} are unknown.")
        config = _decode(_read_json(root / "configuration.json"))
        _check_names(config)
        # The data moves into place and the configuration that references it is stored
        # under the data lock: the start-up sweep never takes the one without the other.
        with services.data_lock(store) as data_dir:
            try:
                restored = []
                for service in config.services:
                    member = _data_path(service)
                    if service.type in DATALESS_TYPES or not data_locations.is_file_location(
                        member
                    ):
                        restored.append(service)
                        continue
                    if not _MEMBER.match(member) or not (root / member).is_file():
                        raise InvalidParameter("The backup's service data is incomplete.")
                    target = data_dir / f"{secrets.token_hex(16)}.gpkg"
                    shutil.move(root / member, target)
                    target.chmod(FILE_MODE)
                    placed.append(target)
                    restored.append(_with_data(service, str(target)))
                config.services = restored
                config.users = _ending_tokens(store, config.users)
                earlier = store.list_services()
                store.replace_configuration(config)
            except BaseException:
                for path in placed:
                    path.unlink(missing_ok=True)
                raise
            kept = {_data_path(service) for service in config.services}
            for service in earlier:  # the data the replaced services had
                location = _data_path(service)
                if not data_locations.is_file_location(location):
                    if location not in kept:
                        data_locations.remove_data(service.definition, store)
                    continue
                path = Path(location)
                if path.parent == data_dir and path not in placed:
                    data_locations.remove_data(service.definition, store)
    return {"status": "success", "createdMs": manifest.get("createdMs"), **_counts(config)}


def _ending_tokens(store: SiteStore, users: list[User]) -> list[User]:
    """Restored users' earlier tokens end.

    A user the site still has (same identifier) keeps its identifier and gets a credential
    version above both the backup's and the current one. Any other (removed since the
    backup, or made again under its name) gets a fresh identifier: tokens issued to it after
    the backup may carry any version.
    """
    current = {u.username.lower(): u for u in store.search_users("", 10**7)[0]}
    restored = []
    for user in users:
        now = current.get(user.username.lower())
        if now is not None and now.user_id == user.user_id:
            version = max(user.token_version, now.token_version) + 1
            restored.append(dataclasses.replace(user, token_version=version))
        else:
            restored.append(
                dataclasses.replace(
                    user, token_version=user.token_version + 1, user_id=new_user_id()
                )
            )
    return restored


def _counts(config: SiteConfiguration) -> dict[str, int]:
    return {
        "services": len(config.services),
        "folders": len(config.folders),
        "users": len(config.users),
        "roles": len(config.roles),
        "permissions": len(config.permissions),
        "dataItems": len(config.data_items),
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InvalidParameter("The file is not a geosite site backup.") from None


def _encode(config: SiteConfiguration) -> dict[str, Any]:
    found = dataclasses.asdict(config)
    found["roles"] = [
        {**dataclasses.asdict(r), "privilege": r.privilege.name} for r in config.roles
    ]
    return found


def _decode(raw: Any) -> SiteConfiguration:
    """A configuration from its JSON form; anything malformed is refused, never half-read."""
    try:
        if not isinstance(raw, dict):
            raise TypeError
        settings = raw["settings"]
        if not isinstance(settings, dict) or set(settings) - set(SETTINGS):
            raise TypeError
        return SiteConfiguration(
            settings=_checked_settings(settings),
            users=[_user(u) for u in raw["users"]],
            roles=[
                Role(str(r["rolename"]), str(r["description"]), Privilege[str(r["privilege"])])
                for r in raw["roles"]
            ],
            members=[(str(role), str(user)) for role, user in raw["members"]],
            folders=[_make(Folder, f) for f in raw["folders"]],
            services=[_make(Service, s) for s in raw["services"]],
            permissions=[_make(Permission, p) for p in raw["permissions"]],
            data_items=[_make(DataItem, d) for d in raw["data_items"]],
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidParameter("The backup's configuration is not readable.") from None


def _check_names(config: SiteConfiguration) -> None:
    """Names a backup brings must be ones the API would have accepted."""
    for user in config.users:
        validate_username(user.username)
    for folder in config.folders:
        services.normalise_folder(folder.name)
    for service in config.services:
        services.valid_service_name(service.name)
        services.normalise_folder(service.folder)
        if service.type not in services.SUPPORTED_TYPES and service.type not in DATALESS_TYPES:
            raise InvalidParameter(f"Service type '{service.type[:32]}' cannot be restored.")
    for item in config.data_items:
        if item.type == databases.TYPE:
            databases.check_restored(item)


def _checked_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """The backup's settings, each checked by the code that checks it when the API edits it
    (a bad value is refused here, not met later by a request)."""
    found: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise TypeError
        if key == log_settings.SETTING:
            checked = log_settings.checked(value, log_settings.DEFAULTS)
            found[key] = {**checked, "logDir": str(value.get("logDir", ""))}
        elif key == password_policy.SETTING:
            rules = password_policy.updated(password_policy.PasswordPolicy(), value)
            found[key] = password_policy.stored(rules)
        elif key == usage_reports.SETTING:
            found[key] = {
                str(name).lower(): usage_reports.definition(report, name=str(name))
                for name, report in value.items()
            }
        elif key == usage_reports.SETTINGS:
            days = whole_number(value.get("maxHistory", 0), "maxHistory", 0, 36_500)
            found[key] = {"maxHistory": days}
        elif key == security.TOKEN_POLICY:
            policy = TokenPolicy(
                short_timeout=whole_number(value.get("shortTimeout"), "shortTimeout", 1, 10**6),
                long_timeout=whole_number(value.get("longTimeout"), "longTimeout", 1, 10**6),
                allow_http_get=value.get("allowHttpGet") is True,
            )
            found[key] = security.stored_token_policy(policy)
        elif key == system_properties.SETTING:
            found[key] = system_properties.parse(json.dumps(value)).values
    return found


def _user(raw: Any) -> User:
    """A user of the backup; one from a version 1 backup (no identifier) gets a fresh one."""
    if isinstance(raw, dict) and "user_id" not in raw:
        raw = {**raw, "user_id": new_user_id()}
    user: User = _make(User, raw)
    if not user.user_id:
        raise ValueError
    return user


def _make(kind: Any, raw: Any) -> Any:
    """A model from a dict whose keys and value types match its fields exactly."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    if not isinstance(raw, dict) or set(raw) != set(fields):
        raise TypeError
    for name, value in raw.items():
        expected = {"str": str, "int": int, "bool": bool, "dict[str, Any]": dict}.get(
            str(fields[name].type).replace("'", "")
        )
        if expected is not None and not isinstance(value, expected):
            raise TypeError
    return kind(**raw)
