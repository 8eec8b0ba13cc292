"""Server directories: ``/admin/system/directories`` ``register``, ``{name}/edit``, ``clean``
and ``unregister``, as ArcGIS Server has them.

A server directory is a folder the site writes files to (map caches, job results, outputs, its
SYSTEM folder of uploads and backups). What geosite adds to ArcGIS's rules, because a directory
is somewhere the site writes and ``clean`` deletes:

- the folder is made (0700) if missing; one that exists must belong to the server's own user
  and be writable by no other (``/tmp`` is refused), and is left as it is; it may be neither
  the site's data directory, nor one of its parents, nor a folder inside it other than under
  its ``directories/`` (so that ``clean`` can never reach the configuration store, the
  services' data or the logs);
- a site has exactly one SYSTEM directory (uploads and backups live there): a second one is
  refused, and it can be neither moved nor unregistered;
- ``clean`` deletes, below the folder and without following links, the files not modified
  for ``maxFileAge`` minutes when ``cleanupMode`` is ``TIME_ELAPSED_SINCE_LAST_MODIFIED``, and
  then the folders it emptied; with ``NONE`` nothing expires and nothing is deleted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from geosite.core.clock import Clock
from geosite.core.models import ServerDirectory
from geosite.errors import InvalidParameter, NotFound
from geosite.files import private_dir
from geosite.storage.base import SiteStore

TYPES = (
    "CACHE",
    "INDEX",
    "INPUT",
    "JOBREGISTRY",
    "JOBS",
    "KML",
    "OUTPUT",
    "SYSTEM",
    "UPLOADS",
)
CLEANUP_MODES = ("NONE", "TIME_ELAPSED_SINCE_LAST_MODIFIED")
SYSTEM = "SYSTEM"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_DESCRIPTION = 4096


@dataclass(frozen=True)
class DirectoryChange:
    """What ``register`` and ``edit`` are given (None: not sent)."""

    physical_path: str | None = None
    cleanup_mode: str | None = None
    max_file_age: int | None = None
    description: str | None = None


def find(store: SiteStore, name: str) -> ServerDirectory:
    """The directory of that name (any case), or a 404."""
    for found in store.list_directories():
        if found.name.lower() == name.lower():
            return found
    raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")


def _choice(value: str | None, allowed: tuple[str, ...], parameter: str, default: str) -> str:
    chosen = (value or default).strip().upper()
    if chosen not in allowed:
        raise InvalidParameter(f"'{parameter}' must be one of {', '.join(allowed)}.")
    return chosen


def _folder(raw: str | None, data_dir: Path) -> Path:
    """The folder for ``physicalPath``: absolute, ours, and clear of the site's own files."""
    text = (raw or "").strip()
    if not text or "\x00" in text or not Path(text).is_absolute():
        raise InvalidParameter("'physicalPath' must be an absolute path.")
    site = data_dir.resolve()
    folder = Path(text).resolve()
    outside = not folder.is_relative_to(site) and not site.is_relative_to(folder)
    if not outside and not folder.is_relative_to(site / "directories"):
        raise InvalidParameter(
            f"'physicalPath' {text[:256]} would hold the site's own files: choose a folder "
            "outside the site's data directory, or under its directories/ folder."
        )
    try:
        if not folder.exists():
            private_dir(folder)
        found = folder.stat()
    except OSError as exc:
        raise InvalidParameter(
            f"'physicalPath' {text[:256]} is not a folder the server can make: {exc.strerror}."
        ) from None
    if not folder.is_dir():
        raise InvalidParameter(f"'physicalPath' {text[:256]} is not a folder.")
    if found.st_uid != os.geteuid() or found.st_mode & 0o022:
        raise InvalidParameter(
            f"'physicalPath' {text[:256]} is not the server's own: a server directory must "
            "belong to the user the server runs as, and no other user may write to it."
        )
    return folder


def _description(raw: str | None) -> str:
    text = raw or ""
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidParameter(f"'description' is longer than {_MAX_DESCRIPTION} characters.")
    return text


def register(
    store: SiteStore,
    data_dir: Path,
    name: str | None,
    directory_type: str | None,
    given: DirectoryChange,
) -> ServerDirectory:
    """``register``: a new server directory (its folder made when missing)."""
    if not name or not _NAME.match(name):
        raise InvalidParameter(
            "'name' must be 1 to 64 letters, digits, '_' or '-' (as arcgisoutput)."
        )
    kind = _choice(directory_type, TYPES, "directoryType", "")
    if kind == SYSTEM:
        current = [d.name for d in store.list_directories() if d.directory_type == SYSTEM]
        if current:
            raise InvalidParameter(
                f"The site has its SYSTEM directory already ('{current[0]}'): uploads and "
                "backups live there, and a site has one."
            )
    directory = ServerDirectory(
        name=name,
        physical_path=str(_folder(given.physical_path, data_dir)),
        directory_type=kind,
        cleanup_mode=_choice(given.cleanup_mode, CLEANUP_MODES, "cleanupMode", "NONE"),
        max_file_age=given.max_file_age or 0,
        description=_description(given.description),
    )
    store.add_directory(directory)
    return directory


def edit(store: SiteStore, data_dir: Path, name: str, given: DirectoryChange) -> ServerDirectory:
    """``{name}/edit``: what is not sent stays as it was; the type never changes."""
    found = find(store, name)
    path = found.physical_path
    if given.physical_path:
        moved = _folder(given.physical_path, data_dir)  # validated before it is compared
        if moved != Path(found.physical_path).resolve():
            if found.directory_type == SYSTEM:
                raise InvalidParameter(
                    "The SYSTEM directory cannot be moved: the site's uploads and backups are "
                    "there."
                )
            path = str(moved)
    changed = replace(
        found,
        physical_path=path,
        cleanup_mode=_choice(given.cleanup_mode, CLEANUP_MODES, "cleanupMode", found.cleanup_mode),
        max_file_age=found.max_file_age if given.max_file_age is None else given.max_file_age,
        description=(
            found.description if given.description is None else _description(given.description)
        ),
    )
    if not store.update_directory(changed):
        raise NotFound(f"Could not find resource or operation '{name[:128]}' on the system.")
    return changed


def unregister(store: SiteStore, name: str) -> None:
    """``{name}/unregister``: the site forgets the directory; its files stay where they are."""
    found = find(store, name)
    if found.directory_type == SYSTEM:
        raise InvalidParameter(
            "The SYSTEM directory cannot be unregistered: the site's uploads and backups are there."
        )
    store.remove_directory(found.name)


def clean(store: SiteStore, clock: Clock, name: str) -> int:
    """``{name}/clean``: delete what has expired; the number of files deleted."""
    found = find(store, name)
    if found.cleanup_mode != "TIME_ELAPSED_SINCE_LAST_MODIFIED":
        return 0
    root = Path(found.physical_path)
    before = clock.now_ms() / 1000 - found.max_file_age * 60
    deleted = 0
    for folder, subfolders, files in os.walk(root, topdown=False, followlinks=False):
        here = Path(folder)
        for entry in files:
            path = here / entry
            try:
                if path.lstat().st_mtime <= before:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue
        for entry in subfolders:
            sub = here / entry
            try:
                if not sub.is_symlink() and not any(sub.iterdir()):
                    sub.rmdir()
            except OSError:  # not empty after all, or gone: kept, or nothing to do
                continue
    return deleted
