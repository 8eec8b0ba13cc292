"""Running the importer in a short-lived process of its own.

GDAL, pyogrio (with pandas and pyarrow) and the arrays of a large import cost a server process
hundreds of MiB that the allocator does not give back. Importing in a child process started for
the purpose keeps the server's workers small: the memory goes back to the system when the
child exits, whatever the import read.
"""

from __future__ import annotations

import ctypes
import importlib.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geosite.errors import InternalError

Importer = Callable[[Path, Path], list[dict[str, Any]]]


#: GDAL drivers a published file may never be opened with: a VRT file (whatever its
#: extension: GDAL goes by content) can make GDAL read any file on the server.
SKIPPED_DRIVERS = "OGR_VRT,VRT"


#: Data paths the ``mapnik`` package sets in the server's environment when it is imported
#: (its own GDAL, PROJ and ICU data). A child inherits them; pyogrio's GDAL and PROJ must
#: read their own data, of their own versions, instead.
_MAPNIK_DATA = ("GDAL_DATA", "PROJ_LIB", "PROJ_DATA", "ICU_DATA")


def _without_mapnik_data() -> None:
    spec = importlib.util.find_spec("mapnik")
    places = list(spec.submodule_search_locations or []) if spec is not None else []
    for name in _MAPNIK_DATA:
        value = os.environ.get(name, "")
        if value and any(os.path.realpath(value).startswith(p) for p in places):
            del os.environ[name]


def _import(source: str, target: str) -> list[dict[str, Any]]:
    _without_mapnik_data()
    # Read by GDAL when it registers its drivers, so before pyogrio is first imported here.
    os.environ["GDAL_SKIP"] = SKIPPED_DRIVERS
    from geosite.data.importer import import_dataset

    return import_dataset(Path(source), Path(target))


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """End this import process when the server process that started it ends, even by kill -9
    (Linux): an orphaned import would keep writing into a workspace that the next start moves
    into the quarantine, and keep the server's output pipe open."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent ended before the request took effect
            os._exit(1)


@contextmanager
def isolated_importer() -> Iterator[Importer]:
    """An importer that runs ``import_dataset`` in one child process, ended on exit.

    Domain errors raised by the import (unreadable data, ...) come back as they were raised.
    """
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited threads
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:

        def run(source: Path, target: Path) -> list[dict[str, Any]]:
            try:
                return pool.submit(_import, str(source), str(target)).result()
            except BrokenProcessPool:
                raise InternalError("The import process ended unexpectedly.") from None

        yield run


def import_isolated(source: Path, target: Path) -> list[dict[str, Any]]:
    """``import_dataset(source, target)`` in a child process of its own."""
    with isolated_importer() as run:
        return run(source, target)
