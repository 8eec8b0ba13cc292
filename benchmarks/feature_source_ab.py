"""The query engine and the edit path before and after a change, measured in one run.

W1's and W5's work without HTTP: a box query answering 1,000 of N points (LayerQuery, JSON),
a count with a where clause, and applyEdits of one new feature (apply_edits), each timed in
two checkouts of geosite (``--before``: a ``git worktree`` of the older commit; this tree is
"after"). Each round runs both in fresh processes, alternating which goes first, on the
same GeoPackage (a copy each), so a busy machine slows both alike; the table gives the
median of the rounds' medians.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/feature_source_ab.py --before /tmp/before --points 200000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

#: Runs inside each checkout: prints {"w1": [s...], "count": [...], "w5": [...]}.
_PROBE = r"""
import inspect, json, sys, time
from pathlib import Path
gpkg, layer_json, repeat = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
side = float(sys.argv[4])
from geosite.engines.query.params import parse_query
from geosite.engines.query.execute import LayerQuery
from geosite.engines import editing
from geosite.engines.editing import Editor, LayerEdits, apply_edits
new_api = "source" in inspect.signature(LayerQuery.__init__).parameters
if new_api:
    from geosite.core.models import LayerDescription
    from geosite.data.registry import open_data
    layer = LayerDescription.from_json(layer_json)
    data = open_data(gpkg)
    source = data.source(layer)
    def query(params):
        spec = parse_query(params.get, list(layer.fields), 2000)
        return LayerQuery(source, spec, 0).run("json")
    def edit(feature):
        return apply_edits(data, [LayerEdits(layer, adds=[feature])], True, Editor())
else:
    layer = layer_json
    def query(params):
        spec = parse_query(params.get, layer["fields"], 2000)
        return LayerQuery(gpkg, layer, spec, 0).run("json")
    def edit(feature):
        return apply_edits(gpkg, [LayerEdits(layer, adds=[feature])], True, Editor())
box = {"geometry": json.dumps({"xmin": 0.2, "ymin": 0.2, "xmax": 0.2 + side, "ymax": 0.2 + side}),
       "geometryType": "esriGeometryEnvelope", "outFields": "*", "where": "1=1"}
counting = {"where": "n >= 1000 AND name LIKE 'p%'", "returnCountOnly": "true"}
times = {"w1": [], "count": [], "w5": []}
for _ in range(3):  # warm the caches
    query(box); query(counting)
for _ in range(repeat):
    t = time.perf_counter(); answer = query(box); times["w1"].append(time.perf_counter() - t)
    t = time.perf_counter(); query(counting); times["count"].append(time.perf_counter() - t)
    feature = {"attributes": {"n": 1, "name": "new"}, "geometry": {"x": 0.5, "y": 0.5}}
    t = time.perf_counter(); edit(feature); times["w5"].append(time.perf_counter() - t)
times["features"] = len(answer["features"])
print(json.dumps(times))
"""


def _points(directory: Path, count: int) -> tuple[Path, dict[str, object]]:
    """N points spread over [0, 1] x [0, 1] at random."""
    sys.path.insert(0, str(HERE))
    import numpy as np

    from geosite.data.importer import import_dataset

    rng = np.random.default_rng(1)
    xy = rng.random((count, 2))
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {"n": i, "name": f"p{i}"},
        }
        for i, (x, y) in enumerate(xy.tolist())
    ]
    source = directory / "points.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    target = directory / "points.gpkg"
    layers = import_dataset(source, target)
    return target, layers[0]


def _run(
    tree: Path, gpkg: Path, layer: dict[str, object], repeat: int, side: float
) -> dict[str, list[float]]:
    copy = gpkg.with_name(f"{tree.name}-{gpkg.name}")
    shutil.copyfile(gpkg, copy)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(copy), json.dumps(layer), str(repeat), str(side)],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    copy.unlink()
    result: dict[str, list[float]] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        gpkg, layer = _points(Path(work), args.points)
        side = (1000 / args.points) ** 0.5  # a box holding about 1,000 points
        trees = {"before": args.before.resolve(), "after": HERE}
        medians: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        features = 0
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                found = _run(trees[name], gpkg, layer, args.repeat, side)
                features = int(found.pop("features"))  # type: ignore[call-overload]
                for key, values in found.items():
                    medians[name].setdefault(key, []).append(statistics.median(values))
    print(f"{args.points:,} points, {args.rounds} rounds x {args.repeat} runs; W1: {features}")
    print(f"{'operation':34} {'before ms':>10} {'after ms':>10} {'change':>8}")
    labels = {
        "w1": "W1 box query, 1,000 features",
        "count": "count with a where clause",
        "w5": "W5 applyEdits, one feature",
    }
    for key, label in labels.items():
        before = statistics.median(medians["before"][key]) * 1000
        after = statistics.median(medians["after"][key]) * 1000
        print(f"{label:34} {before:10.2f} {after:10.2f} {100 * (after / before - 1):+7.1f}%")


if __name__ == "__main__":
    main()
