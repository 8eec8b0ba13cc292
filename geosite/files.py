"""The site's files are the server user's alone: 0700 folders, 0600 files, whatever the umask.

The configuration store holds the token signing keys and the password hashes, the TLS folder
the private key, backups both, and uploads and service data whatever users published. Any
other local account that could read them could forge an administrator's token or copy the data.

* ``private_umask()`` makes every file and folder the process creates from then on private
  (SQLite's ``-wal`` and ``-shm`` files, GDAL's outputs and temporary files included).
* ``private_dir()`` and ``private_file()`` create with private modes explicitly, so that a
  library caller with another umask gets the same.
* ``tighten()`` makes an existing tree private: a site made by an older geosite (0644 files in
  0755 folders) is tightened on every start.
"""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Make what this process creates from now on private; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents inside it) as a 0700 folder; tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty as a 0600 file when missing (before SQLite or another writer)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    _chmod(path, FILE_MODE)
    return path


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (a private file, created when missing) in the block.

    The lock is ``flock``'s, taken on an open file of its own: two threads of one process
    exclude each other as two processes do, and the lock ends with the process that held it
    (also on kill -9). With ``wait`` false the block gets False at once, without the lock,
    when another holds it; otherwise True once the lock is held.
    """
    with open(private_file(path), "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_locked(path: Path) -> bool:
    """Whether a live process holds ``file_lock(path)`` now (False when there is no file)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the probe
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _chmod(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return  # never follow a link, never touch another user's file
    if stat.S_IMODE(info.st_mode) & ~mode:
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode, follow_symlinks=False)


def tighten(roots: Iterable[Path], *, recursive: bool = True) -> int:
    """Remove group and other access under each root; returns how many entries changed.

    With ``recursive`` false only the roots themselves change.

    Symbolic links are not followed and files of other users are left alone. Executable bits
    of the owner are kept (a file's mode goes from 0755 to 0700, a 0644 one to 0600).
    """
    changed = 0
    seen: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root in seen or not root.exists():
            continue
        seen.add(root)
        walk = os.walk(root, followlinks=False) if recursive else [(str(root), [], [])]
        for current, dirs, files in walk:
            for name in (current, *(os.path.join(current, f) for f in files + dirs)):
                path = Path(name)
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
                    continue
                mode = stat.S_IMODE(info.st_mode)
                if mode & 0o077:
                    os.chmod(path, mode & 0o700, follow_symlinks=False)
                    changed += 1
    return changed


def is_private(path: Path) -> bool:
    """Whether neither the group nor others have any access to ``path``."""
    return stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0
