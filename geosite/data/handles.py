"""The files this process keeps open for the site's GeoPackages, and letting go of them.

Readers (``geopackage.reading``) and writers (``editing.edit_transaction``) keep their
connections between requests; a GeoPackage's ``-wal`` and ``-shm`` and the writers' ``.lock``
stay open with them. A deleted, renamed or stopped service must not keep them: the worker that
changed it calls ``release``, and every worker calls ``release_stale`` now and then with the
files its site still serves, so that workers which did not handle the change let go too (and
the disk space of a deleted GeoPackage is given back). A connection in use is closed when its
request is done with it, never under it.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from geosite.data.editing import open_writers, release_writer
from geosite.data.geopackage import file_identity, open_readers
from geosite.data.geopackage import release as release_readers


def release(path: str) -> None:
    """Close this process's connections to the GeoPackage at ``path`` and its lock file."""
    release_readers(path)
    release_writer(path)


def open_paths() -> set[str]:
    """The GeoPackages this process keeps connections to."""
    return set(open_readers()) | set(open_writers())


def release_stale(directory: str, served: Collection[str]) -> list[str]:
    """Release every GeoPackage under ``directory`` that is not in ``served``, or whose file
    was deleted or replaced since it was opened; returns the paths released."""
    prefix = directory.rstrip(os.sep) + os.sep
    opened: dict[str, set[tuple[int, int] | None]] = {}
    for found in (open_readers(), open_writers()):
        for path, identity in found.items():
            if path.startswith(prefix):
                opened.setdefault(path, set()).add(identity)
    gone = []
    for path, identities in opened.items():
        now = file_identity(path)
        if path not in served or now is None or any(i != now for i in identities):
            release(path)
            gone.append(path)
    return gone
