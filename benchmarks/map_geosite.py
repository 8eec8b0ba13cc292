"""W4's geosite side (``map_export.py``): ``geosite serve`` with the GeoPackage published as a
MapServer, and once more with a tile cache."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

import httpx
from feature_config import console
from geosite_server import _token, healthy, publish_file
from harness import Service, _git_revision, free_port, running, serve_command
from map_data import Extent, MapData, MapTarget, extent_text

SERVICE_NAME = "PointsMap"
TILE_SERVICE_NAME = "PointsTiles"  # the same data with a tile cache (isCached)
PUBLISH_TIMEOUT_S = 900.0


class GeositeMap(MapTarget):
    path = f"/arcgis/rest/services/{SERVICE_NAME}/MapServer"
    tiles_path = f"/arcgis/rest/services/{TILE_SERVICE_NAME}/MapServer"
    tiles_refused = ""  # why the cached service could not be published
    bits = 8  # the PNG asked for: format=png (8-bit) or png32

    def image(self, extent: Extent, size: int) -> str:
        params = {
            "bbox": extent_text(extent),
            "bboxSR": "3857",
            "imageSR": "3857",
            "size": f"{size},{size}",
            "format": "png" if self.bits == 8 else "png32",
            "transparent": "true",
            "f": "image",
        }
        return f"{self.path}/export?" + urlencode(params, safe=",")

    def tile(self, level: int, row: int, column: int) -> str:
        return f"{self.tiles_path}/tile/{level}/{row}/{column}"

    def no_tiles(self, client: httpx.Client, path: str, answer: httpx.Response) -> str:
        """Why the service gave no tile: its error message (asked again with ``f=json``) and
        whether its description says it has tiles (``singleFusedMapCache``)."""
        reason = f"HTTP {answer.status_code}"
        with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
            error = client.get(path, params={"f": "json"}).json().get("error", {})
            reason = f"HTTP {error.get('code', answer.status_code)}, {error.get('message', '')}"
        with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
            root = client.get(self.tiles_path, params={"f": "json"}).json()
            cached = root.get("singleFusedMapCache")
            reason += f" (singleFusedMapCache: {json.dumps(cached)})"
        return f"{path} answered {reason}"


def publish_map(
    base: str, token: str, gpkg: Path, name: str = SERVICE_NAME, cached: bool = False
) -> dict[str, float]:
    """Upload the GeoPackage and publish it as a MapServer (with a tile cache drawn on demand
    when ``cached``: ``properties.isCached``); the seconds each step took."""
    service = {
        "serviceName": name,
        "type": "MapServer",
        "properties": {"isCached": "true"} if cached else {},
    }
    return publish_file(
        base, token, gpkg, "application/geopackage+sqlite3", service, PUBLISH_TIMEOUT_S
    )


@contextlib.contextmanager
def geosite_map(args: argparse.Namespace, data: MapData, tmp: Path) -> Iterator[GeositeMap]:
    """``geosite serve`` with the GeoPackage published as a MapServer, and (for the tiles) once
    more as a MapServer with a tile cache; stopped after."""
    password = os.urandom(12).hex()
    port, https_port = free_port(), free_port()
    command = serve_command(
        tmp / "geosite-data", port, https_port, args.workers, password, "WARNING"
    )
    env = {
        **os.environ,
        "GEOSITE_MACHINE_NAME": "BENCHMACHINE",
        "GEOSITE_MAX_UPLOAD_BYTES": str(max(1 << 30, data.gpkg.stat().st_size * 2)),
    }
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    service = Service("geosite", command, tmp / "geosite.log", env)
    with running(service, health, healthy):
        token = _token(base, password)
        console.print(f"  geosite: publishing the GeoPackage as {SERVICE_NAME}.MapServer ...")
        timings = publish_map(base, token, data.gpkg, SERVICE_NAME)
        console.print(f"  published in {timings['total_s']:.1f} s")
        tiles_refused = ""
        if not args.no_tiles:
            console.print(
                f"  geosite: publishing it again as {TILE_SERVICE_NAME}.MapServer with a tile cache"
            )
            try:
                timings["tiles_total_s"] = publish_map(
                    base, token, data.gpkg, TILE_SERVICE_NAME, cached=True
                )["total_s"]
            except RuntimeError as exc:  # a geosite that has no tile caches yet
                tiles_refused = str(exc)
                console.print(f"  [yellow]{tiles_refused}[/]")
        target = GeositeMap(
            "geosite",
            base,
            service,
            health,
            args.workers,
            description=f"geosite serve --workers {args.workers} (uvicorn), Mapnik drawing",
            version=_geosite_versions(),
            publish=timings,
        )
        target.tiles_refused = tiles_refused
        target.bits = args.bits
        yield target


def _geosite_versions() -> str:
    found = [f"geosite {metadata.version('geosite')} ({_git_revision()})"]
    for name in ("mapnik", "pillow", "starlette", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found) + f", Python {platform.python_version()}"
