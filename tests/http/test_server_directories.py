"""Server directories: register, edit, clean and unregister (``/admin/system/directories``),
and what geosite refuses because a directory is where the site writes and ``clean`` deletes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveSite


def _post(site: LiveSite, token: str, path: str, **params: str) -> Any:
    return httpx.post(
        f"{site.admin}/system/directories{path}", data={"f": "json", "token": token, **params}
    ).json()


def _aged(path: Path, minutes: int, site: LiveSite) -> None:
    """Set the file's modification time ``minutes`` before the site's clock."""
    when = site.clock.now_ms() / 1000 - minutes * 60
    os.utime(path, (when, when))


def test_register_edit_clean_unregister(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    folder = tmp_path / "outside" / "extra"  # made when missing
    ok = {"status": "success"}
    assert (
        _post(
            site,
            token,
            "/register",
            name="extra",
            physicalPath=str(folder),
            directoryType="output",
            description="more output",
        )
        == ok
    )
    assert folder.is_dir() and folder.stat().st_mode & 0o077 == 0
    shown = _post(site, token, "/EXTRA")
    assert (shown["name"], shown["directoryType"], shown["cleanupMode"]) == (
        "extra",
        "OUTPUT",
        "NONE",
    )
    assert "extra" in [d["name"] for d in _post(site, token, "")["directories"]]
    again = {"name": "EXTRA", "physicalPath": str(folder), "directoryType": "CACHE"}
    assert _post(site, token, "/register", **again)["code"] == 409

    old, new = folder / "old.png", folder / "tiles" / "new.png"
    new.parent.mkdir()
    old.write_bytes(b"old")
    new.write_bytes(b"new")
    _aged(old, 31, site)
    _aged(new, 5, site)
    # NONE: nothing expires.
    assert _post(site, token, "/extra/clean") == ok
    assert old.exists() and new.exists()
    edited = _post(
        site,
        token,
        "/extra/edit",
        cleanupMode="TIME_ELAPSED_SINCE_LAST_MODIFIED",
        maxFileAge="30",
    )
    assert edited == ok
    shown = _post(site, token, "/extra")
    assert (shown["cleanupMode"], shown["maxFileAge"], shown["description"]) == (
        "TIME_ELAPSED_SINCE_LAST_MODIFIED",
        30,
        "more output",
    )
    assert _post(site, token, "/extra/clean") == ok
    assert not old.exists() and new.exists()
    site.clock.advance(minutes=26)
    assert _post(site, token, "/extra/clean") == ok
    assert not new.exists() and not new.parent.exists() and folder.is_dir()

    (folder / "kept.txt").write_text("stays")
    assert _post(site, token, "/extra/unregister") == ok
    assert "extra" not in [d["name"] for d in _post(site, token, "")["directories"]]
    assert (folder / "kept.txt").read_text() == "stays"
    assert _post(site, token, "/extra")["code"] == 404


def test_what_is_refused(fresh_site: LiveSite, tmp_path: Path) -> None:
    site, token = fresh_site, fresh_site.token()
    (tmp_path / "file.txt").write_text("not a folder")
    tmp_mode = Path("/tmp").stat().st_mode
    directories = _post(site, token, "")["directories"]
    system = next(d for d in directories if d["directoryType"] == "SYSTEM")
    cases = {
        "relative path": {"name": "a", "physicalPath": "relative/dir", "directoryType": "OUTPUT"},
        "the data directory": {
            "name": "a",
            "physicalPath": str(site.data_dir),
            "directoryType": "CACHE",
        },
        "a parent of it": {"name": "a", "physicalPath": "/", "directoryType": "CACHE"},
        "its config store": {
            "name": "a",
            "physicalPath": str(site.data_dir / "config-store"),
            "directoryType": "CACHE",
        },
        "a folder others write to": {
            "name": "a",
            "physicalPath": "/tmp",
            "directoryType": "CACHE",
        },
        "a file": {
            "name": "a",
            "physicalPath": str(tmp_path / "file.txt"),
            "directoryType": "CACHE",
        },
        "bad name": {"name": "a/b", "physicalPath": str(tmp_path / "x"), "directoryType": "CACHE"},
        "bad type": {"name": "a", "physicalPath": str(tmp_path / "x"), "directoryType": "TEMP"},
        "a second SYSTEM": {
            "name": "a",
            "physicalPath": str(tmp_path / "x"),
            "directoryType": "SYSTEM",
        },
        "bad age": {
            "name": "a",
            "physicalPath": str(tmp_path / "x"),
            "directoryType": "CACHE",
            "maxFileAge": "-1",
        },
    }
    for why, params in cases.items():
        answer = _post(site, token, "/register", **params)
        assert answer.get("code") == 400, (why, answer)
    assert _post(site, token, "")["directories"] == directories
    assert Path("/tmp").stat().st_mode == tmp_mode  # refused, and left as it was
    name = system["name"]
    assert _post(site, token, f"/{name}/unregister")["code"] == 400
    assert _post(site, token, f"/{name}/edit", physicalPath=str(tmp_path / "y"))["code"] == 400
    # A NUL byte is refused as a bad path, never a 500; the SYSTEM folder itself may be named.
    assert _post(site, token, f"/{name}/edit", physicalPath="/tmp/a\x00b")["code"] == 400
    assert _post(site, token, f"/{name}/edit", physicalPath=system["physicalPath"]) == {
        "status": "success"
    }
    assert _post(site, token, "/nope/clean")["code"] == 404
    # Administrators only, and by POST.
    assert _post(site, "", "/register", name="b", physicalPath=str(tmp_path / "b"))["code"] == 499
    answer = httpx.get(
        f"{site.admin}/system/directories/{name}/unregister",
        params={"f": "json", "token": token},
    ).json()
    assert answer["code"] == 405 and _post(site, token, f"/{name}")["name"] == name
