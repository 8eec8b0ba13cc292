"""The per-thread SQLite connections of a store: a thread that ended leaves no file open."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from geosite.storage._db import Connections


def _open_files(prefix: Path) -> int:
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}").startswith(str(prefix))
        except OSError:
            continue  # closed meanwhile (listdir's own descriptor)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    """Thread pools retire idle threads and start new ones (the soak found the store's open
    files growing with each): the connection of a thread closes when the thread ends."""
    db = Connections(tmp_path / "site.db", "NORMAL")

    def use() -> None:
        db.get().execute("CREATE TABLE IF NOT EXISTS t (x)")

    use()
    one_connection = _open_files(tmp_path / "site.db")
    for _ in range(60):
        thread = threading.Thread(target=use)
        thread.start()
        thread.join()
    # This thread's connection; SQLite may defer closing one descriptor of the file while
    # another connection of the process holds a lock on it.
    assert _open_files(tmp_path / "site.db") <= one_connection + 1
    db.close()
    assert _open_files(tmp_path / "site.db") == 0
