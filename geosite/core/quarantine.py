"""What a killed process leaves in the services' data directory, moved aside on start.

Publishing imports into a workspace (``.import-*``) and moves the GeoPackage into place only
at its commit; a restore works in ``.restore-*`` the same way (``geosite.core.services``). A
process killed meanwhile leaves a workspace, or a data file that no service references (when
it died between the move and the store's commit). On start, a worker moves each of those into
``.quarantine`` inside the data directory, one folder per entry with an ``entry.json`` saying
what it was and why it was moved, and logs it; ``/admin/system/quarantine`` lists them.
Nothing is deleted: an administrator looks, then removes an entry (or all) with ``delete``.

Never moved: a workspace whose process is alive (it holds the workspace's lock file), any
data file that a service references (in any state), a file whose name geosite does not make,
and anything while a publication, delete or restore is between its file move and its store
commit (the sweep holds ``services.data_lock``). One worker sweeps at a time (a lock file);
several workers starting together sweep once.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from geosite.core.clock import Clock
from geosite.core.services import (
    IMPORT_PREFIX,
    RESTORE_PREFIX,
    WORK_LOCK,
    data_directory,
    data_lock,
)
from geosite.errors import NotFound
from geosite.files import file_lock, is_locked, private_dir, private_file
from geosite.storage.base import SiteStore

QUARANTINE = ".quarantine"
SWEEP_LOCK = ".sweep.lock"
_ENTRY = "entry.json"
_ID = re.compile(r"^q[0-9]{14}-[0-9a-f]{8}$")
#: A service's GeoPackage (named by geosite: 32 hex digits) and the files SQLite and the
#: editors keep beside it.
_DATA = re.compile(r"^([0-9a-f]{32}\.gpkg)(-wal|-shm|-journal|\.lock)?$")
REASONS = {
    "import": "A publication (createService) that did not finish: its server process "
    "stopped while it imported the data.",
    "restore": "A restore (importSite) that did not finish: its server process stopped "
    "while it placed the backup's data.",
    "data": "A service data file that no service references: a publication stopped between "
    "moving its data into place and storing its service, or a delete before it removed it.",
}


@dataclass(frozen=True)
class Quarantined:
    """One entry of the quarantine (its files are in ``.quarantine/<entry_id>``)."""

    entry_id: str
    #: The file or folder name it had in the data directory (a name, never a path).
    name: str
    kind: str
    size: int
    modified_ms: int
    quarantined_ms: int
    files: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """Why it was moved."""
        return REASONS.get(self.kind, "")

    def public(self) -> dict[str, Any]:
        """The entry as ``/admin/system/quarantine`` shows it."""
        return {
            "id": self.entry_id,
            "name": self.name,
            "kind": self.kind,
            "files": list(self.files),
            "size": self.size,
            "modified": self.modified_ms,
            "quarantined": self.quarantined_ms,
            "reason": self.reason,
        }

    def message(self) -> str:
        """The log message of the move."""
        return (
            f"Moved '{self.name}' ({self.size} bytes) into the quarantine of the services' "
            f"data directory as {self.entry_id}: {self.reason} See /admin/system/quarantine."
        )


def quarantine_directory(store: SiteStore) -> Path | None:
    """The quarantine folder (inside the services' data directory); None for a site with no
    SYSTEM server directory, which keeps no service data to quarantine."""
    try:
        return data_directory(store) / QUARANTINE
    except NotFound:
        return None


def sweep(store: SiteStore, clock: Clock) -> list[Quarantined]:
    """Move unfinished workspaces and unreferenced data files into the quarantine; what was
    moved (nothing when another process is sweeping now)."""
    folder = quarantine_directory(store)
    if folder is None:
        return []
    directory = private_dir(folder.parent)
    with file_lock(directory / SWEEP_LOCK, wait=False) as mine:
        if not mine:
            return []
        with data_lock(store):
            return _sweep(store, directory, clock)


def _sweep(store: SiteStore, directory: Path, clock: Clock) -> list[Quarantined]:
    referenced = set()
    for service in store.list_services():
        data = (service.definition.get("_geosite") or {}).get("data")
        if isinstance(data, str) and data:
            referenced.add(Path(data).name)
    workspaces: list[tuple[str, list[Path]]] = []
    orphans: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        name = path.name
        if path.is_symlink():
            continue
        if name.startswith((IMPORT_PREFIX, RESTORE_PREFIX)) and path.is_dir():
            if not is_locked(path / WORK_LOCK):
                kind = "import" if name.startswith(IMPORT_PREFIX) else "restore"
                workspaces.append((kind, [path]))
            continue
        match = _DATA.match(name)
        if match and path.is_file() and match.group(1) not in referenced:
            orphans.setdefault(match.group(1), []).append(path)
    moved = []
    for kind, paths in [*workspaces, *(("data", p) for p in orphans.values())]:
        moved.append(_move(directory / QUARANTINE, kind, paths, clock))
    return moved


def _size_and_time(paths: list[Path]) -> tuple[int, int]:
    size, newest = 0, 0.0
    for root in paths:
        walk = os.walk(root) if root.is_dir() else [(str(root.parent), [], [root.name])]
        for current, _dirs, files in walk:
            for file in files:
                try:
                    info = os.lstat(os.path.join(current, file))
                except OSError:
                    continue
                size += info.st_size
                newest = max(newest, info.st_mtime)
        newest = max(newest, root.lstat().st_mtime)
    return size, int(newest * 1000)


def _move(quarantine: Path, kind: str, paths: list[Path], clock: Clock) -> Quarantined:
    now = clock.now_ms()
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now / 1000))
    entry_id = f"q{stamp}-{secrets.token_hex(4)}"
    target = private_dir(private_dir(quarantine) / entry_id)
    size, modified = _size_and_time(paths)
    files = tuple(sorted(p.name for p in paths))
    entry = Quarantined(entry_id, files[0], kind, size, modified, now, files)
    for path in paths:
        os.replace(path, target / path.name)
    record = private_file(target / _ENTRY)
    record.write_bytes(orjson.dumps(asdict(entry)))
    return entry


def listing(store: SiteStore) -> list[Quarantined]:
    """The entries of the quarantine, oldest first."""
    folder = quarantine_directory(store)
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if not _ID.match(path.name):
            continue
        try:
            raw = orjson.loads((path / _ENTRY).read_bytes())
            raw["files"] = tuple(str(f) for f in raw.get("files", ()))
            entry = Quarantined(**raw)
        except (OSError, ValueError, TypeError):
            continue
        if entry.entry_id == path.name:
            found.append(entry)
    return sorted(found, key=lambda e: (e.quarantined_ms, e.entry_id))


def delete(store: SiteStore, entry_id: str | None) -> list[str]:
    """Delete one entry of the quarantine (``entry_id``), or all of them (None); the ids."""
    entries = listing(store)
    if entry_id is not None:
        entries = [e for e in entries if e.entry_id == entry_id]
        if not entries:
            raise NotFound(f"The quarantine has no entry '{entry_id[:64]}'.")
    folder = quarantine_directory(store)
    for entry in entries:
        if folder is not None:
            shutil.rmtree(folder / entry.entry_id, ignore_errors=True)
    return [e.entry_id for e in entries]
