"""Map images answered by reference (``export`` with ``f=json``): short-lived files in the
site's OUTPUT server directory (``arcgisoutput``), served at
``/arcgis/rest/directories/arcgisoutput/<Folder_Service>_MapServer/_ags_map<hex>.<ext>``.

Names carry 128 random bits, so a file is found only by whoever was given its address. Files
older than ``LIFETIME_S`` (or the directory's own ``maxFileAge`` when it cleans by age) are
deleted by a sweep that runs at most once a minute per process, when an image is written.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import time
import weakref
from pathlib import Path

from geosite.core.clock import Clock
from geosite.core.models import ServerDirectory, Service
from geosite.errors import InvalidParameter
from geosite.files import FILE_MODE, private_dir
from geosite.storage.base import SiteStore

OUTPUT_TYPE, CACHE_TYPE = "OUTPUT", "CACHE"
LIFETIME_S = 600
SWEEP_EVERY_S = 60
_FOLDER = re.compile(r"^[A-Za-z0-9_]{1,260}_MapServer$")
_FILE = re.compile(r"^_ags_map[0-9a-f]{32}\.(png|jpg)$")
_last_sweep: list[float] = [0.0]


#: How long a server directory's record is reused (tiles are asked for thousands of times a
#: second; a directory edited on any machine is seen within this).
DIRECTORY_TTL_S = 1.0
#: (store's id, kind) -> (the store, read at, directory); the store is held weakly and
#: compared, so a store freed and another made at its address never reads the old entry.
_directories: dict[
    tuple[int, str], tuple[weakref.ref[SiteStore], float, ServerDirectory | None]
] = {}


def output_directory(store: SiteStore, kind: str = OUTPUT_TYPE) -> ServerDirectory | None:
    """The site's server directory of type ``kind`` (OUTPUT: ``arcgisoutput``; CACHE:
    ``arcgiscache``), if it has one (read again after ``DIRECTORY_TTL_S``)."""
    key, now = (id(store), kind), time.monotonic()
    kept = _directories.get(key)
    if kept is not None and kept[0]() is store and now - kept[1] < DIRECTORY_TTL_S:
        return kept[2]
    usual = "arcgisoutput" if kind == OUTPUT_TYPE else "arcgiscache"
    found = [d for d in store.list_directories() if d.directory_type == kind]
    found.sort(key=lambda d: d.name != usual)
    chosen = found[0] if found else None
    _directories[key] = (weakref.ref(store), now, chosen)
    return chosen


def cache_root(store: SiteStore, service: Service) -> Path:
    """The ``_alllayers`` folder of a map service's tiles, in the CACHE server directory."""
    directory = output_directory(store, CACHE_TYPE)
    if directory is None:
        raise InvalidParameter("The site has no CACHE server directory for map tiles.")
    return _alllayers(directory.physical_path, folder_of(service))


@functools.lru_cache(maxsize=1024)
def _alllayers(physical_path: str, folder: str) -> Path:
    return Path(physical_path) / folder / "_alllayers"


def remove_cache(store: SiteStore, service: Service) -> None:
    """Delete a map service's tiles (it was deleted, renamed, or its data replaced)."""
    directory = output_directory(store, CACHE_TYPE)
    if directory is not None:
        shutil.rmtree(Path(directory.physical_path) / folder_of(service), ignore_errors=True)


def _lifetime_s(directory: ServerDirectory) -> float:
    if directory.cleanup_mode == "TIME_ELAPSED_SINCE_LAST_MODIFIED" and directory.max_file_age:
        return min(directory.max_file_age * 60.0, LIFETIME_S)
    return LIFETIME_S


def folder_of(service: Service) -> str:
    """The output folder of a service: ``Folder_Name_MapServer``."""
    return f"{service.qualified_name.replace('/', '_')}_{service.type}"


def write(store: SiteStore, clock: Clock, service: Service, data: bytes, ext: str) -> str:
    """Keep ``data`` as a new output file; its path under the directory (``folder/file``)."""
    directory = output_directory(store)
    if directory is None:
        raise FileNotFoundError("The site has no OUTPUT server directory.")
    root = Path(directory.physical_path)
    folder = private_dir(root / folder_of(service))
    name = f"_ags_map{secrets.token_hex(16)}.{ext}"
    partial = folder / f".{name}.part"
    with open(partial, "wb") as out:
        out.write(data)
    partial.chmod(FILE_MODE)
    os.replace(partial, folder / name)
    _sweep(root, _lifetime_s(directory), clock)
    return f"{folder.name}/{name}"


def _sweep(root: Path, lifetime_s: float, clock: Clock) -> None:
    now = clock.now_ms() / 1000
    if time.monotonic() - _last_sweep[0] < SWEEP_EVERY_S and _last_sweep[0]:
        return
    _last_sweep[0] = time.monotonic()
    sweep(root, now - lifetime_s)


def sweep(root: Path, before_s: float) -> int:
    """Delete the output images last written before ``before_s``; how many were deleted."""
    deleted = 0
    for folder in root.glob("*_MapServer"):
        for path in folder.glob("_ags_map*"):
            try:
                if path.stat().st_mtime < before_s:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue
    return deleted


def find(store: SiteStore, folder: str, name: str) -> Path | None:
    """The output file ``folder/name``, if the names are an output's and it exists."""
    directory = output_directory(store)
    if directory is None or not _FOLDER.match(folder) or not _FILE.match(name):
        return None
    path = Path(directory.physical_path) / folder / name
    return path if path.is_file() else None
