"""Backups at scale: ``exportSite`` and ``importSite`` of a site with a large layer.

Builds a site (in-process, served on loopback) holding one layer of N points (published from
a registered folder, as large data is), 50 small services in 5 folders, 200 users and 20
roles; then, through ``geosite.client``, times ``exportSite`` and ``importSite`` several
times each and checks after every restore that the large layer answers with all its points.

    .venv/bin/python benchmarks/backups.py [--points 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_points import generate_points, write_gpkg  # noqa: E402
from feature_config import console  # noqa: E402
from harness import _git_revision  # noqa: E402
from rich.table import Table  # noqa: E402

from geosite.client import Site  # noqa: E402
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, make_site  # noqa: E402


def build(site: Site, work: Path, points: int) -> float:
    """Fill the site; the seconds publishing the large layer took."""
    shared = work / "shared"
    shared.mkdir()
    lon, lat, value = generate_points(points)
    write_gpkg(shared / "points.gpkg", lon, lat, value)
    small = work / "small.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]}, "properties": {}}
        for i in range(100)
    ]
    small.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    site.data.register(
        {"path": "/fileShares/shared", "type": "folder", "info": {"path": str(shared)}}
    )
    began = time.perf_counter()
    site.services.create(
        {
            "serviceName": "Points",
            "type": "FeatureServer",
            "properties": {"dataPath": "/fileShares/shared/points.gpkg"},
        }
    )
    published = time.perf_counter() - began
    for i in range(50):
        site.services.publish(small, f"Small{i}", folder=f"Folder{i % 5}")
    for i in range(20):
        site.roles.add(f"role{i}", privilege=("ACCESS", "PUBLISH")[i % 2])
    for i in range(200):
        site.users.add(f"user{i}", f"User-password-{i}")
        site.users.assign_roles(f"user{i}", [f"role{i % 20}"])
    return published


def count(site: Site) -> int:
    answer = site.session.get_json(
        "rest/services/Points/FeatureServer/0/query", {"where": "1=1", "returnCountOnly": True}
    )
    return int(answer["count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="geosite-bench-backups-") as name:
        work = Path(name)
        live = make_site(work / "site")
        try:
            with Site.connect(live.http + "/arcgis", ADMIN_USER, ADMIN_PASSWORD) as site:
                console.print(f"Building a site with {args.points:,} points, 50 services ...")
                published = build(site, work, args.points)
                exports, imports, sizes = [], [], []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    location = site.backup()
                    exports.append(time.perf_counter() - began)
                    sizes.append(Path(location).stat().st_size)
                    began = time.perf_counter()
                    report = site.restore(location)["report"]
                    imports.append(time.perf_counter() - began)
                    if count(site) != args.points or report["services"] != 51:
                        console.print(f"[red]wrong restore: {report}[/]")
                        return 1
        finally:
            live.stop()
    table = Table(title=f"Backups of a site with {args.points:,} points in one layer")
    for column in ("operation", "median s", "runs (s)"):
        table.add_column(column)
    for label, times in (("exportSite", exports), ("importSite", imports)):
        table.add_row(
            label, f"{statistics.median(times):.2f}", " / ".join(f"{t:.2f}" for t in times)
        )
    console.print(table)
    console.print(
        f"Backup file {sizes[0] / 2**20:,.0f} MiB; publishing the layer from a registered "
        f"folder took {published:.1f} s; 51 services, 200 users, 20 roles; every restore "
        f"checked ({args.points:,} points counted). Revision {_git_revision()}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
