"""Uploaded items: storing the bytes, and opening archives safely.

An upload is kept in ``<system directory>/uploads/<itemID>/<name>``. Archives are never
trusted: before anything reads one, every member is checked for path traversal, links and
absolute names, and the total uncompressed size, the number of members and the compression
ratio are bounded. Extraction counts the bytes actually written, not what the archive claims.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from geosite.core import ownership
from geosite.core.clock import Clock
from geosite.core.models import Principal, UploadItem
from geosite.errors import InvalidParameter, NotFound
from geosite.files import DIR_MODE, FILE_MODE, private_dir
from geosite.storage.base import SiteStore

#: Data to publish, and site backups to restore (``importSite`` takes an upload's itemID).
ALLOWED_SUFFIXES = (".zip", ".geojson", ".json", ".gpkg", ".csv", ".agssite")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1024 * 1024
#: A new file that must not exist yet (never follow a link planted in its place).
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what an archive may expand to."""

    max_total_bytes: int = 4 * 1024 * 1024 * 1024
    max_members: int = 10_000
    max_ratio: float = 200.0


def uploads_directory(store: SiteStore) -> Path:
    """Where uploaded items live: the site's SYSTEM server directory."""
    for directory in store.list_directories():
        if directory.directory_type.upper() == "SYSTEM":
            return Path(directory.physical_path) / "uploads"
    raise NotFound("The site has no SYSTEM server directory to keep uploads in.")


def safe_filename(name: str) -> str:
    """A file name with no directory part and only portable characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload"
    return cleaned[:128]


def save_upload(
    store: SiteStore,
    clock: Clock,
    source: BinaryIO,
    filename: str,
    description: str,
    max_bytes: int,
    owner: str = "",
) -> UploadItem:
    """Copy an uploaded file into the site and record it."""
    name = safe_filename(filename)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise InvalidParameter(
            f"Files of type '{PurePosixPath(name).suffix or name}' cannot be uploaded.",
            details=["Allowed types: " + ", ".join(ALLOWED_SUFFIXES) + "."],
        )
    item_id = "i" + secrets.token_hex(16)
    folder = uploads_directory(store) / item_id
    private_dir(folder.parent)
    folder.mkdir(mode=DIR_MODE)
    target = folder / name
    size = 0
    try:
        with os.fdopen(os.open(target, _NEW_FILE, FILE_MODE), "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidParameter("The file is larger than the maximum upload size.")
                out.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    item = UploadItem(item_id, name, str(target), size, clock.now_ms(), description[:1024], owner)
    store.add_upload(item)
    return item


def get_upload(store: SiteStore, item_id: str, caller: Principal | None = None) -> UploadItem:
    """An uploaded item, or ``NotFound``; with a ``caller``, only one it may use.

    A publisher is told that another user's item does not exist, as if it did not.
    """
    item = store.get_upload(item_id)
    if item is None or (caller is not None and not ownership.may_manage(caller, item.owner)):
        raise NotFound(f"Could not find the uploaded item '{item_id[:64]}'.")
    return item


def list_uploads(store: SiteStore, caller: Principal | None) -> list[UploadItem]:
    """The uploaded items the caller may see: all for administrators, its own for others."""
    return [item for item in store.list_uploads() if ownership.may_manage(caller, item.owner)]


def delete_upload(store: SiteStore, item_id: str, caller: Principal | None = None) -> None:
    """Remove an uploaded item and its file."""
    item = get_upload(store, item_id, caller)
    store.delete_upload(item.item_id)
    shutil.rmtree(Path(item.path).parent, ignore_errors=True)


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise InvalidParameter(f"The archive member '{name[:128]}' points outside the archive.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InvalidParameter(f"The archive member '{name[:128]}' is a link.")


def extract_archive(archive: Path, target: Path, limits: ArchiveLimits) -> Path:
    """Extract a zip file into ``target`` after checking every member; returns ``target``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > limits.max_members:
                raise InvalidParameter("The archive has too many members.")
            declared = 0
            for info in members:
                _check_member(info)
                declared += info.file_size
                if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                    raise InvalidParameter("The archive's compression ratio is suspiciously high.")
            if declared > limits.max_total_bytes:
                raise InvalidParameter("The archive expands beyond the allowed size.")
            _extract(zf, members, target, limits)
    except zipfile.BadZipFile:
        raise InvalidParameter("The file is not a valid zip archive.") from None
    return target


def _extract(
    zf: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path, limits: ArchiveLimits
) -> None:
    written = 0
    root = target.resolve()
    for info in members:
        destination = (root / info.filename.replace("\\", "/")).resolve()
        if root not in destination.parents and destination != root:
            raise InvalidParameter("An archive member points outside the archive.")
        if info.is_dir():
            destination.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        if destination.exists() or destination.is_symlink():
            raise InvalidParameter("The archive holds the same file twice.")
        new = os.fdopen(os.open(destination, _NEW_FILE, FILE_MODE), "wb")
        with zf.open(info) as src, new as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limits.max_total_bytes:
                    raise InvalidParameter("The archive expands beyond the allowed size.")
                out.write(chunk)
