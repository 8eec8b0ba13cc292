"""W4's peer (``map_export.py``): MapServer 8, Debian's ``cgi-mapserver``, as a FastCGI
application (``spawn-fcgi -n`` + ``multiwatch -f N``) behind an nginx, drawing the GeoPackage
through OGR in geosite's default point style, asked WMS 1.3.0 ``GetMap``."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
from harness import Service, ServiceGroup, find_nginx, free_port, nginx_service, running
from map_data import (
    FILL,
    OUTLINE,
    OUTLINE_PT,
    PX_PER_PT,
    Extent,
    MapData,
    MapTarget,
    extent_text,
)

MAPSERV = "/usr/lib/cgi-bin/mapserv"


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
    FORMATOPTION "COMPRESSION={compression}"{palette}
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

#: The ``http`` block of the nginx in front (``tests.nginx.main_config`` around it).
NGINX_SERVER = """\
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
"""


#: MapServer's 8-bit PNG with alpha: the picture quantized to a palette of 256 colours.
_PALETTE = '\n    FORMATOPTION "QUANTIZE_FORCE=ON"\n    FORMATOPTION "QUANTIZE_COLORS=256"'
_KIND = {8: "8-bit (QUANTIZE_FORCE, 256 colours)", 32: "RGBA"}


def _hex(rgba: tuple[int, int, int, int]) -> str:
    return "#" + "".join(f"{v:02x}" for v in rgba)


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
    if find_nginx() is None:
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
            palette=_PALETTE if args.bits == 8 else "",
        )
    )
    conf.write_text(MAPSERVER_CONF.format(mapfile=mapfile))
    socket_path = root / "mapserv.sock"
    port = free_port()
    nginx = find_nginx()
    assert nginx is not None
    web = nginx_service(nginx, root, "nginx", NGINX_SERVER.format(port=port, socket=socket_path))
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
            ServiceGroup("MapServer", [fcgi, web]),
            f"{base}/ping",
            args.workers,
            description=(
                f"Debian cgi-mapserver as FastCGI: spawn-fcgi -n + multiwatch -f {args.workers} "
                "mapserv, behind nginx (1 worker process, unix socket); WMS 1.3.0 GetMap; "
                "OGR over the GeoPackage"
                + (" (a copy in spatial order)" if data.gpkg_spatial else " (the file geosite got)")
                + f", CLOSE_CONNECTION=DEFER; AGG/PNG {_KIND[args.bits]}, zlib level "
                f"{args.png_compression}; "
                f"circle {args.marker_px:g} px {_hex(FILL)}, outline "
                f"{OUTLINE_PT * PX_PER_PT:.3g} px {_hex(OUTLINE)}"
            ),
            version=f"{banner.strip()} ("
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + ")",
        )
