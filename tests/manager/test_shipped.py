"""What ships in the Python package (geosite/http/static/manager/) is what ``manager/``
builds: stale files fail here, and so does a first page over 200 KiB compressed."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.conftest import LiveSite
from tests.manager.conftest import missing

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "manager"
SHIPPED = ROOT / "geosite" / "http" / "static" / "manager"
FIRST_PAGE_LIMIT = 200 * 1024


def _sources() -> list[str]:
    """The files build.mjs hashes, in its order."""
    found = ["build.mjs", "package.json", "package-lock.json"]
    found += [p.relative_to(SOURCE).as_posix() for p in (SOURCE / "src").rglob("*") if p.is_file()]
    return sorted(found)


def test_shipped_files_were_built_from_the_sources() -> None:
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.encode() + b"\0" + (SOURCE / path).read_bytes() + b"\0")
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    assert manifest["sources"] == digest.hexdigest(), (
        "geosite/http/static/manager/ is stale: run `make manager` and commit the result"
    )
    shipped = sorted(p.relative_to(SHIPPED).as_posix() for p in (SHIPPED / "assets").iterdir())
    assert shipped == manifest["files"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_rebuild_gives_the_same_bytes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (SOURCE / "node_modules" / "esbuild").is_dir():
        missing("node or manager/node_modules is missing: run `make manager-deps`")
    subprocess.run(
        [node, str(SOURCE / "build.mjs"), str(tmp_path)], check=True, capture_output=True
    )
    built = {
        p.relative_to(tmp_path).as_posix(): p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file()
    }
    shipped = {
        p.relative_to(SHIPPED).as_posix(): p.read_bytes() for p in SHIPPED.rglob("*") if p.is_file()
    }
    assert sorted(built) == sorted(shipped)
    assert [name for name in built if built[name] != shipped[name]] == []


#: A static import between built modules (``import("./x.js")``, loaded later, is not one).
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([A-Za-z0-9_-]+\.js)"')


def test_first_page_is_small(site: LiveSite) -> None:
    """index.html and everything it loads before the person signs in (the script, the modules
    it imports statically, the stylesheet), as sent with gzip; the map preview's chunk is
    imported dynamically and comes later."""
    base = site.http + "/arcgis/manager/"
    with httpx.Client(headers={"accept-encoding": "gzip"}) as client:
        page = client.get(base)
        names = re.findall(r'(?:src|href)="(assets/[^"]+)"', page.text)
        assert len(names) == 2  # the script and the stylesheet
        total = len(gzip.compress(page.content))
        seen: set[str] = set()
        while names:
            name = names.pop()
            if name in seen:
                continue
            seen.add(name)
            answer = client.get(base + name)
            assert answer.status_code == 200
            assert answer.headers["content-encoding"] == "gzip"
            assert "immutable" in answer.headers["cache-control"]
            total += int(answer.headers["content-length"])
            if name.endswith(".js"):
                names += ["assets/" + found for found in _STATIC_IMPORT.findall(answer.text)]
    assert len(seen) >= 3  # the bundle imports the code it shares with the preview
    assert total < FIRST_PAGE_LIMIT, f"{total} bytes"
    print(f"first page: {len(seen)} files, {total} bytes with gzip")
