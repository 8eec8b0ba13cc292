"""Workload W4 of the performance spec (section 5): map images, geosite beside MapServer 8.

Generates the W1 points (``numpy.random.default_rng(42)``, lon -180..180, lat -85..85, fields
``id``, ``name``, ``value``; ``data_points.py``) as a GeoPackage in EPSG:4326, and a fixed list
of square extents in EPSG:3857 that each hold about 1,000 of them. Then, in the same run:

- **geosite**: ``geosite serve --workers 2``; the GeoPackage is uploaded and published as a
  service of type MapServer (``uploads/upload`` + ``createService``), and the extents are asked
  of ``MapServer/export?bbox=...&bboxSR=3857&imageSR=3857&size=256,256&format=png
  &transparent=true&f=image`` (and ``size=1024,1024``). Warm tiles: ``MapServer/tile/{z}/{y}/
  {x}`` once the service has tiles; the row says "not available" when it answers that it has
  none.
- **MapServer 8** (Debian's ``cgi-mapserver``): ``mapserv`` as a FastCGI application, 2
  processes (``spawn-fcgi -n`` + ``multiwatch -f 2``) behind an nginx (1 worker process),
  drawing the same GeoPackage through OGR with an equivalent style (a circle marker, fill
  #f79646, 0.5 px outline #bebebe, AGG PNG, RGBA, transparent), asked WMS 1.3.0 ``GetMap``
  with the same extents and sizes.

Every answer is checked by the load generator (HTTP 200 and a PNG ``IHDR``, no error
envelope); before the load, a few images of each server are decoded with Pillow and compared
with where the points are, so that neither side is measuring error pages or blank images.
The rows are measured in turns (geosite, MapServer, then MapServer, geosite, ...) with both
servers running all along. The load generator (wrk) runs on the same 2 cores as the servers.

Usage: .venv/bin/python benchmarks/map_export.py [--quick] [--points N] [--duration S]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
from data_points import generate_points, write_gpkg
from feature_config import SEED, console
from feature_report import _fmt_ms, _fmt_rate
from feature_servers import _machine_busy_s, drain
from features import _uncommitted
from geosite_server import _token
from harness import (
    ADMIN_USER,
    RESULTS_DIR,
    Run,
    Service,
    _geosite_command,
    _git_revision,
    _pick_generator,
    free_port,
    running,
    timed_run,
)
from loadgen import LoadGenerator, LoadSpec
from rich.table import Table

SERVICE_NAME = "PointsMap"
TILE_SERVICE_NAME = "PointsTiles"  # the same data with a tile cache (isCached)
EXTENT_SEED = 11  # where the extents go (the points come from SEED)
EARTH_RADIUS_M = 6378137.0
WEB_MERCATOR_MAX_M = math.pi * EARTH_RADIUS_M
SIZES = (256, 1024)
TILE_LEVEL = 5  # 32 x 32 tiles of the world; about 1,000 points in a tile near the equator
PUBLISH_TIMEOUT_S = 900.0
IMAGE_TIMEOUT_S = 30.0
#: The style both servers draw: ArcGIS's default symbol of a point layer, as geosite has it
#: (geosite/core/drawing.py default_symbol): a circle of 7.5 pt, fill #f79646 at alpha 161,
#: outline #bebebe at alpha 105 and 0.5 pt wide; at 96 dpi a point is 96/72 px.
PX_PER_PT = 96 / 72
MARKER_PT = 7.5
FILL = (247, 150, 70, 161)
OUTLINE = (190, 190, 190, 105)
OUTLINE_PT = 0.5
#: geosite's PNG encoder (Mapnik ``png32:z=1``): zlib level 1; MapServer is given the same.
PNG_COMPRESSION = 1
#: Targets of the issue (2 workers, concurrency 4).
TARGET_256 = (200.0, 50.0)  # images/s at least, p99 ms at most
TARGET_1024 = 40.0
TARGET_TILES = 3000.0
CPUS = os.cpu_count() or 1
MAPSERV = "/usr/lib/cgi-bin/mapserv"
#: A PNG always has its IHDR chunk in its first 16 bytes; an error page never does.
PNG_MARKER = "IHDR"

Extent = tuple[float, float, float, float]

# -- the data ---------------------------------------------------------------------------------


def web_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:4326 degrees to EPSG:3857 metres (the spherical formulas, as PROJ does)."""
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return x, y


def make_extents(
    x: np.ndarray, y: np.ndarray, count: int, hits: int
) -> tuple[list[Extent], list[int]]:
    """``count`` square EPSG:3857 extents, each holding 97-100 % of ``hits`` points, centred at
    random places between latitudes -70 and 70 (``EXTENT_SEED``)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]

    def inside(e: Extent) -> int:
        lo, hi = np.searchsorted(xs, [e[0], e[2]])
        strip = ys[lo:hi]
        return int(np.count_nonzero((strip >= e[1]) & (strip <= e[3])))

    rng = np.random.default_rng(EXTENT_SEED)
    low = math.floor(hits * 0.97)
    extents: list[Extent] = []
    counts: list[int] = []
    attempts = 0
    while len(extents) < count and attempts < count * 20:
        attempts += 1
        cx, cy = web_mercator(np.array(rng.uniform(-170, 170)), np.array(rng.uniform(-70, 70)))
        small, large = 1_000.0, 5_000_000.0
        for _ in range(80):  # bisect the half-side (geometrically) until low..hits points
            half = math.sqrt(small * large)
            extent = tuple(round(float(v), 2) for v in (cx - half, cy - half, cx + half, cy + half))
            found = inside(extent)  # type: ignore[arg-type]
            if low <= found <= hits:
                if max(abs(v) for v in extent) < WEB_MERCATOR_MAX_M:
                    extents.append(extent)  # type: ignore[arg-type]
                    counts.append(found)
                break
            if found > hits:
                large = half
            else:
                small = half
    return extents, counts


@dataclass
class MapData:
    """The points in EPSG:3857, the extents and the GeoPackage both servers read."""

    x: np.ndarray
    y: np.ndarray
    extents: list[Extent]
    counts: list[int]
    gpkg: Path
    timings: dict[str, float] = field(default_factory=dict)
    #: A copy in spatial order for MapServer (``--mapserver-order spatial``), or None.
    gpkg_spatial: Path | None = None
    gpkg_bytes: int = 0

    @property
    def points(self) -> int:
        return len(self.x)

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "seed": SEED,
            "extent_seed": EXTENT_SEED,
            "extents_epsg3857": [list(e) for e in self.extents],
            "points_per_extent": self.counts,
            "gpkg_bytes": self.gpkg_bytes,
            "mapserver_reads_spatial_copy": self.gpkg_spatial is not None,
            "timings_s": {k: round(v, 2) for k, v in self.timings.items()},
        }


def make_data(args: argparse.Namespace, tmp: Path) -> MapData:
    began = time.perf_counter()
    lon, lat, value = generate_points(args.points)
    x, y = web_mercator(lon, lat)
    extents, counts = make_extents(x, y, args.extents, args.hits)
    generated = time.perf_counter() - began
    gpkg = tmp / "points.gpkg"
    began = time.perf_counter()
    write_gpkg(gpkg, lon, lat, value)
    data = MapData(x, y, extents, counts, gpkg, {"generate": generated})
    data.timings["write_gpkg"] = time.perf_counter() - began
    data.gpkg_bytes = gpkg.stat().st_size
    if args.mapserver_order == "spatial" and args.only != "geosite":
        import shapely

        from geosite.data.importer import spatial_order

        began = time.perf_counter()
        order = spatial_order(shapely.points(lon, lat))
        data.gpkg_spatial = tmp / "points-spatial.gpkg"
        write_gpkg(data.gpkg_spatial, lon[order], lat[order], value[order])
        data.timings["write_gpkg_spatial"] = time.perf_counter() - began
    widths = [e[2] - e[0] for e in extents]
    console.print(
        f"Data: {data.points:,} points (seed {SEED}), GeoPackage "
        f"{gpkg.stat().st_size / 2**20:,.0f} MiB in {data.timings['write_gpkg']:.1f} s; "
        f"{len(extents)} EPSG:3857 extents (seed {EXTENT_SEED}) of {min(counts)}-{max(counts)} "
        f"points, {min(widths) / 1000:,.0f}-{max(widths) / 1000:,.0f} km wide"
    )
    return data


def extent_text(extent: Extent) -> str:
    return ",".join(f"{v:.2f}" for v in extent)


# -- the servers ------------------------------------------------------------------------------


class Stack(Service):
    """Several processes measured as one server (CPU time of all of them)."""

    def __init__(self, name: str, parts: list[Service]) -> None:
        super().__init__(name, [], Path(os.devnull), {})
        self.parts = parts

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.parts)


@dataclass
class MapTarget:
    """A server under test: how to ask it for an image, and its processes."""

    name: str
    base: str
    service: Service
    ready_url: str
    workers: int
    description: str = ""
    version: str = ""
    publish: dict[str, float] | None = None

    def image(self, extent: Extent, size: int) -> str:
        """The path and query of an image of ``extent`` at ``size`` x ``size`` pixels."""
        raise NotImplementedError

    def spec(self, data: MapData, size: int) -> LoadSpec:
        targets = tuple(self.image(e, size) for e in data.extents)
        return LoadSpec(
            url=self.base + targets[0], targets=targets, expect=PNG_MARKER, timeout_s=10.0
        )


class GeositeMap(MapTarget):
    path = f"/arcgis/rest/services/{SERVICE_NAME}/MapServer"
    tiles_path = f"/arcgis/rest/services/{TILE_SERVICE_NAME}/MapServer"
    tiles_refused = ""  # why the cached service could not be published

    def image(self, extent: Extent, size: int) -> str:
        params = {
            "bbox": extent_text(extent),
            "bboxSR": "3857",
            "imageSR": "3857",
            "size": f"{size},{size}",
            "format": "png",
            "transparent": "true",
            "f": "image",
        }
        return f"{self.path}/export?" + urlencode(params, safe=",")

    def tile(self, level: int, row: int, column: int) -> str:
        return f"{self.tiles_path}/tile/{level}/{row}/{column}"


class MapServerMap(MapTarget):
    def image(self, extent: Extent, size: int) -> str:
        params = {
            "SERVICE": "WMS",
            "VERSION": "1.3.0",
            "REQUEST": "GetMap",
            "LAYERS": "points",
            "STYLES": "",
            "CRS": "EPSG:3857",  # x, y axis order in WMS 1.3.0 too
            "BBOX": extent_text(extent),
            "WIDTH": str(size),
            "HEIGHT": str(size),
            "FORMAT": "image/png",
            "TRANSPARENT": "TRUE",
        }
        return "/mapserv?" + urlencode(params, safe=",:/")


def _healthy(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and bool(answer.json().get("success"))


def publish_map(
    base: str, token: str, gpkg: Path, name: str = "PointsMap", cached: bool = False
) -> dict[str, float]:
    """Upload the GeoPackage and publish it as a MapServer (with a tile cache drawn on demand
    when ``cached``: ``properties.isCached``); the seconds each step took."""
    began = time.perf_counter()
    headers = {"X-Esri-Authorization": f"Bearer {token}"}
    with gpkg.open("rb") as handle, httpx.Client(timeout=PUBLISH_TIMEOUT_S) as client:
        answer = client.post(
            f"{base}/arcgis/admin/uploads/upload",
            data={"f": "json"},
            files={"itemFile": (gpkg.name, handle, "application/geopackage+sqlite3")},
            headers=headers,
        )
        uploaded = time.perf_counter()
        item = answer.json().get("item")
        if not item:
            raise RuntimeError(f"upload failed: {answer.text[:500]}")
        properties = {"itemID": item["itemID"]}
        if cached:
            properties["isCached"] = "true"
        service = {"serviceName": name, "type": "MapServer", "properties": properties}
        answer = client.post(
            f"{base}/arcgis/admin/services/createService",
            data={"f": "json", "service": json.dumps(service)},
            headers=headers,
        )
    done = time.perf_counter()
    if answer.json().get("status") != "success":
        raise RuntimeError(f"createService failed: {answer.text[:500]}")
    return {
        "upload_s": round(uploaded - began, 2),
        "create_service_s": round(done - uploaded, 2),
        "total_s": round(done - began, 2),
    }


@contextlib.contextmanager
def geosite_map(args: argparse.Namespace, data: MapData, tmp: Path) -> Iterator[GeositeMap]:
    """``geosite serve`` with the GeoPackage published as a MapServer, and (for the tiles) once
    more as a MapServer with a tile cache; stopped after."""
    password = os.urandom(12).hex()
    port, https_port = free_port(), free_port()
    command = [
        _geosite_command(),
        "serve",
        "--data-dir",
        str(tmp / "geosite-data"),
        "--port",
        str(port),
        "--https-port",
        str(https_port),
        "--workers",
        str(args.workers),
        "--admin-user",
        ADMIN_USER,
        "--admin-password",
        password,
        "--log-level",
        "WARNING",
    ]
    env = {
        **os.environ,
        "GEOSITE_MACHINE_NAME": "BENCHMACHINE",
        "GEOSITE_MAX_UPLOAD_BYTES": str(max(1 << 30, data.gpkg.stat().st_size * 2)),
    }
    base = f"http://127.0.0.1:{port}"
    health = f"{base}/arcgis/rest/info/healthCheck?f=json"
    service = Service("geosite", command, tmp / "geosite.log", env)
    with running(service, health, _healthy):
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
        yield target


def _geosite_versions() -> str:
    found = [f"geosite {metadata.version('geosite')} ({_git_revision()})"]
    for name in ("mapnik", "pillow", "starlette", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found) + f", Python {platform.python_version()}"


MAPFILE = """\
MAP
  NAME "points"
  EXTENT -20037508.34 -20037508.34 20037508.34 20037508.34
  SIZE 256 256
  MAXSIZE 4096
  UNITS METERS
  IMAGETYPE "png"
  PROJECTION "init=epsg:3857" END
  OUTPUTFORMAT
    NAME "png"
    DRIVER "AGG/PNG"
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    TRANSPARENT ON
    FORMATOPTION "COMPRESSION={compression}"
  END
  WEB
    METADATA
      "wms_title" "points"
      "wms_srs" "EPSG:3857"
      "wms_enable_request" "GetMap GetCapabilities"
    END
  END
  SYMBOL
    NAME "circle"
    TYPE ELLIPSE
    FILLED TRUE
    POINTS 1 1 END
  END
  LAYER
    NAME "points"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "{gpkg}"
    DATA "points"
    # keep the GeoPackage open between requests of a FastCGI process
    PROCESSING "CLOSE_CONNECTION=DEFER"
    PROJECTION "init=epsg:4326" END
    METADATA "wms_title" "points" END
    CLASS
      STYLE
        SYMBOL "circle"
        SIZE {size}
        COLOR "{fill}"
        OUTLINECOLOR "{outline}"
        WIDTH {width}
      END
    END
  END
END
"""

MAPSERVER_CONF = """\
CONFIG
  ENV
    MS_MAPFILE "{mapfile}"
  END
END
"""

NGINX_CONF = """\
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location = /ping {{ return 200 "ok"; }}
    location = /mapserv {{
      fastcgi_pass unix:{socket};
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param SCRIPT_NAME $fastcgi_script_name;
      fastcgi_param REQUEST_URI $request_uri;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
      fastcgi_param SERVER_NAME $server_name;
      fastcgi_param SERVER_PORT $server_port;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param HTTP_HOST $host;
    }}
  }}
}}
"""


def _hex(rgba: tuple[int, int, int, int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgba)


def _nginx() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _dpkg_versions(*packages: str) -> dict[str, str]:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Version}\n", *packages],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def mapserver_missing() -> str:
    """Why the MapServer peer cannot run here ("" when it can)."""
    needed = {"mapserv": MAPSERV, "spawn-fcgi": "spawn-fcgi", "multiwatch": "multiwatch"}
    missing = [name for name, path in needed.items() if not shutil.which(path)]
    if _nginx() is None:
        missing.append("nginx")
    if not missing:
        return ""
    return (
        f"{', '.join(missing)} not installed (Debian: apt-get install cgi-mapserver "
        "mapserver-bin spawn-fcgi multiwatch nginx)"
    )


@contextlib.contextmanager
def mapserver_map(args: argparse.Namespace, data: MapData, tmp: Path) -> Iterator[MapServerMap]:
    """MapServer's ``mapserv`` as FastCGI (spawn-fcgi + multiwatch, ``--workers`` processes)
    behind an nginx on loopback; stopped after."""
    root = tmp / "mapserver"
    root.mkdir()
    mapfile, conf = root / "points.map", root / "mapserver.conf"
    gpkg = data.gpkg_spatial or data.gpkg
    mapfile.write_text(
        MAPFILE.format(
            gpkg=gpkg,
            size=f"{args.marker_px:g}",
            fill=_hex(FILL),
            outline=_hex(OUTLINE),
            width=f"{OUTLINE_PT * PX_PER_PT:.3g}",
            compression=args.png_compression,
        )
    )
    conf.write_text(MAPSERVER_CONF.format(mapfile=mapfile))
    socket_path = root / "mapserv.sock"
    port = free_port()
    nginx = _nginx()
    assert nginx is not None
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        NGINX_CONF.format(root=root, user=user, port=port, socket=socket_path)
    )
    nginx_command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf")]
    checked = subprocess.run(
        [*nginx_command, "-t"], capture_output=True, text=True, timeout=30, check=False
    )
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t: {checked.stderr[-1000:]}")
    fcgi_command = [
        shutil.which("spawn-fcgi") or "spawn-fcgi",
        "-n",
        "-s",
        str(socket_path),
        "-M",
        "0666",
        "--",
        shutil.which("multiwatch") or "multiwatch",
        "-f",
        str(args.workers),
        "-s",
        "TERM",  # its default (USR1) does not stop a FastCGI mapserv
        "--",
        MAPSERV,
    ]
    env = {**os.environ, "MAPSERVER_CONFIG_FILE": str(conf)}
    base = f"http://127.0.0.1:{port}"
    web = Service("nginx", nginx_command, root / "nginx.log", dict(os.environ))
    fcgi = Service("mapserv", fcgi_command, root / "mapserv.log", env)
    probe = MapServerMap("MapServer", base, fcgi, f"{base}/ping", args.workers)
    first = f"{base}{probe.image(data.extents[0], 256)}"

    def drew(answer: httpx.Response) -> bool:
        return answer.status_code == 200 and answer.content[:4] == b"\x89PNG"

    with (
        running(web, f"{base}/ping", lambda r: r.status_code == 200),
        running(fcgi, first, drew),
    ):
        versions = _dpkg_versions(
            "cgi-mapserver", "libgdal32", "libfcgi0ldbl", "spawn-fcgi", "multiwatch", "nginx"
        )
        banner = subprocess.run(
            [MAPSERV, "-v"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.split(" OUTPUT=")[0]
        yield MapServerMap(
            "MapServer",
            base,
            Stack("MapServer", [fcgi, web]),
            f"{base}/ping",
            args.workers,
            description=(
                f"Debian cgi-mapserver as FastCGI: spawn-fcgi -n + multiwatch -f {args.workers} "
                "mapserv, behind nginx (1 worker process, unix socket); WMS 1.3.0 GetMap; "
                "OGR over the GeoPackage"
                + (" (a copy in spatial order)" if data.gpkg_spatial else " (the file geosite got)")
                + f", CLOSE_CONNECTION=DEFER; AGG/PNG RGBA, zlib level {args.png_compression}; "
                f"circle {args.marker_px:g} px {_hex(FILL)}, outline "
                f"{OUTLINE_PT * PX_PER_PT:.3g} px {_hex(OUTLINE)}"
            ),
            version=f"{banner.strip()} ("
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + ")",
        )


# -- checking the images ----------------------------------------------------------------------


def _drawn_mask(body: bytes, size: int) -> tuple[np.ndarray | None, str]:
    """The pixels that were drawn (alpha ≥ 128 and not the white of an opaque background),
    or None and why the body is no good image."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        return None, f"not an image ({exc}): {body[:120]!r}"
    if image.format != "PNG":
        return None, f"a {image.format}, not a PNG"
    if image.size != (size, size):
        return None, f"{image.size[0]}x{image.size[1]}, not {size}x{size}"
    rgba = np.asarray(image.convert("RGBA"))
    white = (rgba[..., :3] >= 250).all(axis=2)
    return (rgba[..., 3] >= 128) & ~white, ""


def _fill_share(body: bytes) -> float:
    """The share of the drawn pixels that have the marker's fill colour (within 24 levels)."""
    from PIL import Image

    rgba = np.asarray(Image.open(io.BytesIO(body)).convert("RGBA")).astype(int)
    drawn = rgba[..., 3] >= 128
    close = (np.abs(rgba[..., :3] - np.array(FILL[:3])) <= 24).all(axis=2) & drawn
    return float(close.sum() / max(1, drawn.sum()))


def expected_mask(data: MapData, extent: Extent, size: int, diameter: float) -> np.ndarray:
    """The pixels a circle of ``diameter`` pixels at every point in ``extent`` covers."""
    xmin, ymin, xmax, ymax = extent
    radius = diameter / 2
    pad = (xmax - xmin) / size * (radius + 1)
    near = (
        (data.x >= xmin - pad)
        & (data.x <= xmax + pad)
        & (data.y >= ymin - pad)
        & (data.y <= ymax + pad)
    )
    px = (data.x[near] - xmin) / (xmax - xmin) * size
    py = (ymax - data.y[near]) / (ymax - ymin) * size
    mask = np.zeros((size, size), dtype=bool)
    reach = math.ceil(radius) + 1
    offsets = np.arange(-reach, reach + 1)
    for cx, cy in zip(px.tolist(), py.tolist(), strict=True):
        cols = np.floor(cx).astype(int) + offsets
        rows = np.floor(cy).astype(int) + offsets
        cols, rows = cols[(cols >= 0) & (cols < size)], rows[(rows >= 0) & (rows < size)]
        if not len(cols) or not len(rows):
            continue
        dx = cols + 0.5 - cx
        dy = rows + 0.5 - cy
        inside = dy[:, None] ** 2 + dx[None, :] ** 2 <= radius**2
        mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] |= inside
    return mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def best_fit(
    mask: np.ndarray, data: MapData, extent: Extent, size: int
) -> tuple[float, tuple[float, float], float]:
    """The marker diameter (3-16 px) and then the shift of the drawing (up to half a pixel
    each way) whose circles at the points fit the drawn pixels best, and that fit (IoU)."""
    fits = {
        d: _iou(mask, expected_mask(data, extent, size, d))
        for d in np.arange(3.0, 16.01, 0.5).tolist()
    }
    diameter = max(fits, key=lambda d: fits[d])
    pixel = (extent[2] - extent[0]) / size
    shifted = {}
    for dx in (-0.5, 0.0, 0.5):
        for dy in (-0.5, 0.0, 0.5):
            moved = (
                extent[0] - dx * pixel,
                extent[1] + dy * pixel,
                extent[2] - dx * pixel,
                extent[3] + dy * pixel,
            )
            shifted[(dx, dy)] = _iou(mask, expected_mask(data, moved, size, diameter))
    offset = max(shifted, key=lambda o: shifted[o])
    return diameter, offset, shifted[offset]


@dataclass
class ImageCheck:
    """What a few decoded images of one server show."""

    server: str
    size: int
    images: int = 0
    problems: list[str] = field(default_factory=list)
    drawn_share: list[float] = field(default_factory=list)
    fill_share: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)  # with the expected mask at its diameter
    diameter: list[float] = field(default_factory=list)  # the marker size that fits best
    offset: list[tuple[float, float]] = field(default_factory=list)  # then its shift (px)
    bytes: list[int] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "size": self.size,
            "images": self.images,
            "problems": self.problems,
            "drawn_share": [round(v, 3) for v in self.drawn_share],
            "fill_colour_share_of_drawn": [round(v, 3) for v in self.fill_share],
            "iou_with_points": [round(v, 3) for v in self.iou],
            "best_fitting_marker_px": self.diameter,
            "best_fitting_shift_px": [list(o) for o in self.offset],
            "png_bytes": self.bytes,
        }


def check_images(target: MapTarget, data: MapData, size: int, samples: int) -> ImageCheck:
    """Decode the images of the first ``samples`` extents and compare them with the points."""
    found = ImageCheck(target.name, size)
    with httpx.Client(base_url=target.base, timeout=IMAGE_TIMEOUT_S) as client:
        for index, extent in enumerate(data.extents[:samples]):
            answer = client.get(target.image(extent, size))
            kind = answer.headers.get("content-type", "")
            if answer.status_code != 200 or not kind.startswith("image/png"):
                found.problems.append(
                    f"extent {index}: HTTP {answer.status_code} {kind}: {answer.content[:200]!r}"
                )
                continue
            mask, why = _drawn_mask(answer.content, size)
            if mask is None:
                found.problems.append(f"extent {index}: {why}")
                continue
            found.images += 1
            found.bytes.append(len(answer.content))
            found.masks.append(mask)
            found.drawn_share.append(float(mask.mean()))
            found.fill_share.append(_fill_share(answer.content))
            diameter, offset, fit = best_fit(mask, data, extent, size)
            found.diameter.append(diameter)
            found.offset.append(offset)
            found.iou.append(fit)
            if mask.mean() < 0.01:
                found.problems.append(f"extent {index}: blank ({mask.mean():.1%} drawn)")
            elif fit < 0.6:
                found.problems.append(
                    f"extent {index}: the drawing does not match the points (IoU {fit:.2f})"
                )
    return found


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Row:
    """One server at one size (or the tiles): its measured runs."""

    server: str
    label: str
    target: str = ""
    runs: list[Run] = field(default_factory=list)
    others_share: list[float] = field(default_factory=list)
    warmup: Run | None = None
    unavailable: str = ""

    @property
    def median(self) -> Run:
        return sorted(self.runs, key=lambda r: r.load.rps)[len(self.runs) // 2]

    @property
    def errors(self) -> int:
        return sum(r.load.errors for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"server": self.server, "row": self.label, "target": self.target}
        if self.unavailable:
            return {**out, "unavailable": self.unavailable}
        return {
            **out,
            "rate_median": round(self.median.load.rps, 2),
            "rate_all": [round(r.load.rps, 2) for r in self.runs],
            "errors_total": self.errors,
            "other_processes_cpu_share": [round(v, 3) for v in self.others_share],
            "median": self.median.as_dict(),
            "runs": [r.as_dict() for r in self.runs],
            "warmup": self.warmup.as_dict() if self.warmup else None,
        }


def _one_run(
    generator: LoadGenerator,
    spec: LoadSpec,
    target: MapTarget,
    row: Row,
    args: argparse.Namespace,
) -> None:
    busy_before = _machine_busy_s()
    run = timed_run(generator, spec, args.concurrency, args.duration, target.service)
    busy = _machine_busy_s() - busy_before
    row.runs.append(run)
    others = max(0.0, busy - (run.server_cpu_s or 0.0) - run.loadgen_cpu_s)
    row.others_share.append(others / (run.load.seconds * CPUS))
    waited = drain(target.ready_url, target.workers)
    cpu = run.server_cpu_us_per_request
    console.print(
        f"    {target.name}, {row.label}: {run.load.rps:,.1f}/s, p50 {run.load.p50_ms:.2f} ms, "
        f"p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}, server CPU "
        f"{(cpu or 0) / 1000:.2f} ms each; other processes used {row.others_share[-1]:.0%} of "
        "the machine" + (f" (drained for {waited:.1f} s)" if waited > 1 else "")
    )


def measure_sizes(
    targets: list[MapTarget], data: MapData, generator: LoadGenerator, args: argparse.Namespace
) -> list[Row]:
    """Each size on every server: a warm-up each, then ``--repeat`` rounds in turns (the order
    reversed every other round), so that drift weighs on both servers alike."""
    rows = []
    for size in args.sizes:
        label = f"{size}x{size} export"
        goal = (
            f"≥ {TARGET_256[0]:g}/s, p99 ≤ {TARGET_256[1]:g} ms"
            if size == 256
            else f"≥ {TARGET_1024:g}/s"
            if size == 1024
            else ""
        )
        found = [Row(t.name, label, goal if t.name == "geosite" else "") for t in targets]
        specs = [t.spec(data, size) for t in targets]
        console.print(
            f"[bold]{label}[/]: warm-up {args.warmup:g} s each, then {args.repeat} rounds of "
            f"{args.duration:g} s per server, c={args.concurrency}"
        )
        for target, spec, row in zip(targets, specs, found, strict=True):
            if args.warmup > 0:
                row.warmup = timed_run(
                    generator, spec, args.concurrency, args.warmup, target.service
                )
                drain(target.ready_url, target.workers)
        for turn in range(args.repeat):
            order = list(range(len(targets)))
            if turn % 2:
                order.reverse()
            for index in order:
                _one_run(generator, specs[index], targets[index], found[index], args)
        rows += found
    return rows


def tile_addresses(count: int) -> list[tuple[int, int, int]]:
    """``count`` distinct (level, row, column) tiles at ``TILE_LEVEL`` (rows away from the
    poles), the same every run."""
    rng = np.random.default_rng(EXTENT_SEED)
    side = 2**TILE_LEVEL
    picked: list[tuple[int, int, int]] = []
    while len(picked) < min(count, side * side // 2):
        tile = (TILE_LEVEL, int(rng.integers(side // 8, side - side // 8)), int(rng.integers(side)))
        if tile not in picked:
            picked.append(tile)
    return picked


def _no_tiles(client: httpx.Client, target: GeositeMap, path: str, answer: httpx.Response) -> str:
    """Why the service gave no tile: its error message (asked again with ``f=json``) and
    whether its description says it has tiles (``singleFusedMapCache``)."""
    reason = f"HTTP {answer.status_code}"
    with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
        error = client.get(path, params={"f": "json"}).json().get("error", {})
        reason = f"HTTP {error.get('code', answer.status_code)}, {error.get('message', '')}"
    with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
        root = client.get(target.tiles_path, params={"f": "json"}).json()
        cached = root.get("singleFusedMapCache")
        reason += f" (singleFusedMapCache: {json.dumps(cached)})"
    return f"{path} answered {reason}"


def tile_extent(level: int, row: int, column: int) -> Extent:
    """A tile's extent in EPSG:3857 on the Web Mercator grid of 256-pixel tiles."""
    side = 2 * WEB_MERCATOR_MAX_M / 2**level
    left, top = -WEB_MERCATOR_MAX_M + column * side, WEB_MERCATOR_MAX_M - row * side
    return (left, top - side, left + side, top)


def measure_tiles(
    target: GeositeMap,
    data: MapData,
    generator: LoadGenerator,
    args: argparse.Namespace,
) -> tuple[Row, ImageCheck | None]:
    """Warm tiles: every tile asked once (so it is in the cache), then the load over them. The
    row is "not available" when the service answers that it has no tiles."""
    row = Row(target.name, f"warm tiles, z{TILE_LEVEL}", f"≥ {TARGET_TILES:,.0f}/s")
    if target.tiles_refused:
        row.unavailable = f"not available: createService with isCached: {target.tiles_refused}"
        console.print(f"  warm tiles {row.unavailable}")
        return row, None
    tiles = tile_addresses(args.extents)
    paths = [target.tile(*t) for t in tiles]
    check = ImageCheck(f"{target.name} tiles", 256)
    began = time.perf_counter()
    with httpx.Client(base_url=target.base, timeout=IMAGE_TIMEOUT_S) as client:
        for index, path in enumerate(paths):
            answer = client.get(path)
            kind = answer.headers.get("content-type", "")
            if answer.status_code != 200 or not kind.startswith("image/"):
                text = answer.text[:300].replace("\n", " ")
                if index == 0:
                    row.unavailable = "not available: " + _no_tiles(client, target, path, answer)
                    console.print(f"  warm tiles {row.unavailable}")
                    return row, None
                check.problems.append(f"{path}: HTTP {answer.status_code} {kind}: {text}")
                continue
            check.images += 1
            check.bytes.append(len(answer.content))
            if kind.startswith("image/png"):
                mask, why = _drawn_mask(answer.content, 256)
                if mask is None:
                    check.problems.append(f"{path}: {why}")
                else:
                    check.drawn_share.append(float(mask.mean()))
                    if index < args.samples:  # drawn where the points are?
                        diameter, offset, fit = best_fit(
                            mask, data, tile_extent(*tiles[index]), 256
                        )
                        check.diameter.append(diameter)
                        check.offset.append(offset)
                        check.iou.append(fit)
                        if fit < 0.6:
                            check.problems.append(f"{path}: does not match the points ({fit:.2f})")
    drawn = check.drawn_share or [0.0]
    console.print(
        f"[bold]warm tiles[/]: {len(paths)} tiles asked once in {time.perf_counter() - began:.1f}"
        f" s ({len(check.problems)} problems; {min(drawn):.0%}-{max(drawn):.0%} of the pixels "
        f"drawn, the first {len(check.iou)} fit {check.diameter} px circles at the points with "
        f"IoU {', '.join(f'{v:.2f}' for v in check.iou)}); warm-up {args.warmup:g} s, then "
        f"{args.repeat} x {args.duration:g} s"
    )
    if check.problems:
        row.unavailable = f"tiles answered with errors: {check.problems[0]}"
        return row, check
    spec = LoadSpec(
        url=target.base + paths[0], targets=tuple(paths), expect=PNG_MARKER, timeout_s=10.0
    )
    if args.warmup > 0:
        row.warmup = timed_run(generator, spec, args.concurrency, args.warmup, target.service)
        drain(target.ready_url, target.workers)
    for _ in range(args.repeat):
        _one_run(generator, spec, target, row, args)
    return row, check


# -- the report -------------------------------------------------------------------------------


def _round_ratios(row: Row, peer: Row | None) -> list[float]:
    if peer is None or peer.unavailable or row.unavailable:
        return []
    return [
        a.load.rps / b.load.rps for a, b in zip(row.runs, peer.runs, strict=False) if b.load.rps
    ]


def _verdict(row: Row) -> str:
    if not row.target or row.unavailable:
        return "-"
    load = row.median.load
    if row.label.startswith("256x"):
        ok = load.rps >= TARGET_256[0] and load.p99_ms <= TARGET_256[1]
    elif row.label.startswith("1024x"):
        ok = load.rps >= TARGET_1024
    else:
        ok = load.rps >= TARGET_TILES
    return f"{row.target}: " + ("[green]met[/]" if ok else "[red]MISSED[/]")


def print_table(rows: list[Row], args: argparse.Namespace) -> dict[str, Any]:
    table = Table(
        title=f"W4 map images, {args.points:,} points, ~{args.hits:,} in each of "
        f"{args.extents} extents; c={args.concurrency}, {args.workers} workers each; median of "
        f"{args.repeat} x {args.duration:g} s"
    )
    for name in (
        "server",
        "size",
        "images/s (runs)",
        "p50 ms",
        "p99 ms",
        "errors",
        "server CPU ms/image",
        "others' CPU",
        "÷ MapServer (per round)",
        "target",
    ):
        table.add_column(name, justify="left" if name in ("server", "size", "target") else "right")
    ratios: dict[str, Any] = {}
    for row in rows:
        if row.unavailable:
            short = row.unavailable.split(":")[0]  # the reason is printed under the table
            table.add_row(row.server, row.label, short, *[""] * 5, "-", "-")
            continue
        peer = next((r for r in rows if r.server == "MapServer" and r.label == row.label), None)
        per_round = _round_ratios(row, peer) if row.server != "MapServer" else []
        ratio = "1" if row.server == "MapServer" else "-"
        if per_round:
            ratio = (
                f"{statistics.median(per_round):.2f}x ("
                + " / ".join(f"{r:.2f}" for r in per_round)
                + ")"
            )
            ratios[row.label] = {
                "median": round(statistics.median(per_round), 3),
                "per_round": [round(r, 3) for r in per_round],
            }
        median = row.median
        cpu = median.server_cpu_us_per_request
        table.add_row(
            row.server,
            row.label,
            f"{_fmt_rate(median.load.rps)} ("
            + " / ".join(_fmt_rate(r.load.rps) for r in row.runs)
            + ")",
            _fmt_ms(median.load.p50_ms),
            _fmt_ms(median.load.p99_ms),
            str(row.errors),
            "-" if cpu is None else f"{cpu / 1000:.2f}",
            f"{statistics.median(row.others_share):.0%}",
            ratio,
            _verdict(row),
        )
    console.print(table)
    for row in rows:
        if row.unavailable:
            console.print(f"  {row.server}, {row.label}: {row.unavailable}")
    return ratios


def print_checks(checks: list[ImageCheck]) -> None:
    table = Table(title="Sanity checks: images decoded with Pillow and compared with the points")
    for name in (
        "server",
        "size",
        "images",
        "drawn px",
        "fill colour of drawn",
        "best-fitting marker (shift x, y)",
        "IoU with the points",
        "PNG bytes",
        "problems",
    ):
        table.add_column(name)
    for check in checks:
        if not check.images:
            table.add_row(
                check.server,
                str(check.size),
                "0",
                "",
                "",
                "",
                "",
                "",
                "; ".join(check.problems[:2]),
            )
            continue

        def span(values: list[float], fmt: str) -> str:
            return f"{min(values):{fmt}}-{max(values):{fmt}}" if values else "-"

        table.add_row(
            check.server,
            str(check.size),
            str(check.images),
            span(check.drawn_share, ".0%"),
            span(check.fill_share, ".0%"),
            (
                span(check.diameter, "g")
                + " px ("
                + ", ".join(sorted({f"{x:+g}, {y:+g}" for x, y in check.offset}))
                + ")"
            )
            if check.diameter
            else "-",
            span(check.iou, ".2f"),
            span([float(b) for b in check.bytes], ",.0f"),
            "; ".join(check.problems[:2]) or "none",
        )
    console.print(table)


def agreement(checks: list[ImageCheck]) -> dict[str, list[float]]:
    """IoU of geosite's and MapServer's drawn pixels, image by image, per size."""
    out: dict[str, list[float]] = {}
    for size in {c.size for c in checks}:
        pair = [c for c in checks if c.size == size and c.server in ("geosite", "MapServer")]
        if len(pair) == 2 and pair[0].images == pair[1].images:
            out[str(size)] = [
                round(_iou(a, b), 3) for a, b in zip(pair[0].masks, pair[1].masks, strict=True)
            ]
    return out


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=None, help="points (1,000,000)")
    parser.add_argument("--extents", type=int, default=50, help="extents to cycle through")
    parser.add_argument("--hits", type=int, default=1000, help="points per extent (at most)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per row")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per row")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="processes of each server")
    parser.add_argument(
        "--marker-px",
        type=float,
        default=MARKER_PT * PX_PER_PT,
        help="MapServer's marker diameter in pixels (geosite's default: 7.5 pt = 10 px)",
    )
    parser.add_argument(
        "--png-compression",
        type=int,
        default=PNG_COMPRESSION,
        help="MapServer's zlib level (geosite's Mapnik encoder uses 1)",
    )
    parser.add_argument(
        "--mapserver-order",
        choices=("source", "spatial"),
        default="source",
        help="MapServer reads the GeoPackage as generated (source, the file geosite is given) "
        "or a copy in the spatial (Z-order) order geosite stores it in after publishing",
    )
    parser.add_argument("--samples", type=int, default=3, help="images decoded per server/size")
    parser.add_argument("--only", choices=("both", "geosite", "mapserver"), default="both")
    parser.add_argument("--no-tiles", action="store_true", help="skip the warm tiles row")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 points, 1 s warm-up, 1 x 3 s per row"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.repeat = 3.0, 1.0, 1
        args.points = 100_000 if args.points is None else args.points
    args.points = 1_000_000 if args.points is None else args.points
    args.sizes = SIZES
    if not 10_000 <= args.points <= 20_000_000 or args.hits * 20 > args.points:
        parser.error("points must be 10,000-20,000,000, and an extent at most 5 % of them")
    if not (1 <= args.extents <= 500 and 1 <= args.hits <= 100_000):
        parser.error("extents 1-500, hits 1-100,000")
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.repeat <= 10):
        parser.error("duration 1-120 s, warm-up 0-60 s, repeat 1-10")
    if not (1 <= args.concurrency <= 64 and 1 <= args.workers <= 8):
        parser.error("concurrency 1-64, workers 1-8")
    if not (1 <= args.marker_px <= 64 and 1 <= args.samples <= 20):
        parser.error("marker 1-64 px, samples 1-20")
    if not 0 <= args.png_compression <= 9:
        parser.error("PNG compression 0-9")
    return args


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `running` blocks, which stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    generator = _pick_generator(args.loadgen)
    missing = mapserver_missing() if args.only != "geosite" else ""
    if missing:
        raise SystemExit(f"MapServer peer: {missing}")
    load1, load5, load15 = os.getloadavg()
    meta: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "revision": _git_revision(),
        "uncommitted_geosite_files": _uncommitted("geosite"),
        "machine": {
            "cpus": CPUS,
            "platform": platform.platform(),
            "loadavg_at_start": [load1, load5, load15],
        },
        "loadgen": {"name": generator.name, "description": generator.description},
        "settings": {
            k: getattr(args, k)
            for k in (
                "points",
                "extents",
                "hits",
                "duration",
                "warmup",
                "repeat",
                "concurrency",
                "workers",
                "marker_px",
                "png_compression",
                "mapserver_order",
            )
        },
        "note": "the load generator runs on the same CPUs as the servers; figures are floors",
    }
    console.print(
        f"Load generator: [bold]{generator.description}[/], on the same {CPUS} cores as the "
        f"servers (every figure is a floor); load average at start {load1:.2f} {load5:.2f} "
        f"{load15:.2f}"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    checks: list[ImageCheck] = []
    servers: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="geosite-bench-map-") as name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(name)
        data = make_data(args, tmp)
        targets: list[MapTarget] = []
        if args.only != "mapserver":
            targets.append(stack.enter_context(geosite_map(args, data, tmp)))
        if args.only != "geosite":
            console.print("  MapServer: starting mapserv (FastCGI) and nginx ...")
            targets.append(stack.enter_context(mapserver_map(args, data, tmp)))
        for target in targets:
            console.print(f"  [bold]{target.name}[/]: {target.version}")
            console.print(f"    {target.description}")
            servers.append(
                {
                    "name": target.name,
                    "version": target.version,
                    "setup": target.description,
                    "publish": target.publish,
                }
            )
        for size in args.sizes:
            for target in targets:
                checks.append(check_images(target, data, size, args.samples))
        print_checks(checks)
        same = agreement(checks)
        for size, values in same.items():
            console.print(
                f"  geosite and MapServer drew the same pixels at {size}x{size}: IoU "
                + ", ".join(f"{v:.2f}" for v in values)
            )
        bad = [c for c in checks if c.problems]
        if bad:
            console.print("[red]Some images are wrong; the figures below are not valid.[/]")
        rows = measure_sizes(targets, data, generator, args)
        geosite = next((t for t in targets if isinstance(t, GeositeMap)), None)
        if geosite is not None and not args.no_tiles:
            tiles, tile_check = measure_tiles(geosite, data, generator, args)
            rows.append(tiles)
            if tile_check is not None:
                checks.append(tile_check)
        for log in tmp.rglob("*.log"):
            meta.setdefault("log_tails", {})[log.name] = log.read_text(errors="replace")[-3000:]
    meta["loadavg_at_end"] = list(os.getloadavg())
    ratios = print_table(rows, args)
    console.print(
        f"Load generator: {generator.description}, on the same {CPUS} cores as the servers "
        "(figures are floors). Server CPU: the whole process tree (MapServer: mapserv processes "
        "and nginx)."
    )
    for server in servers:
        console.print(f"  {server['name']}: {server['version']}; {server['setup']}")
    document = {
        "workload": "W4",
        "meta": meta,
        "dataset": data.as_dict(),
        "servers": servers,
        "image_checks": [c.as_dict() for c in checks],
        "geosite_mapserver_iou": same,
        "rows": [r.as_dict() for r in rows],
        "ratios_to_mapserver": ratios,
    }
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output = args.output or RESULTS_DIR / f"map-{stamp}.json"
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Results written to {output}")
    if bad or any(r.errors for r in rows if not r.unavailable):
        console.print("[red]Errors or wrong images: the figures are not valid.[/]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
