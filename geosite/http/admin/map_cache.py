"""``POST /admin/services/[{folder}/]{service}.MapServer/manageMapCacheTiles``: seed or
delete a cached map service's tiles for a level range and an extent, as a job.

The request is checked (and authorized) by ``geosite.core.map_cache``; the tiles are drawn by
the render engine. The job's progress goes to its record (``/admin/system/jobs/<jobId>``)
and to the site's logs, every 5 % and at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from geosite.core import jobs, map_cache, map_output
from geosite.core.logs import LogCode
from geosite.core.services import find_service
from geosite.data.spatial_reference import resolve
from geosite.engines.render import tiles
from geosite.engines.render.params import in_sr, parse_box
from geosite.http.rest.map_server import tile_drawer
from geosite.http.routing import Call, Field

SOURCE = "Admin"
FIELDS = (
    Field("levels", "Levels (first-last)", default="0-5"),
    Field("updateMode", "Update mode", default="RECREATE_EMPTY_TILES"),
    Field("updateExtent", "Extent (xmin,ymin,xmax,ymax or envelope JSON)"),
    Field("extentSR", "Extent's spatial reference", default="4326"),
    Field("runAsync", "Run as a job (true/false)", default="true"),
)
_WORLD = (-tiles.ORIGIN, -tiles.ORIGIN, tiles.ORIGIN, tiles.ORIGIN)


def _extent(call: Call) -> tuple[float, float, float, float]:
    raw = call.params.get("updateExtent")
    if raw is None or not raw.strip():
        return _WORLD
    box = parse_box(raw, "updateExtent")
    source = resolve(call.params.get("extentSR") or "4326", "extentSR")
    target = resolve(tiles.WEB_MERCATOR, "extentSR")
    return in_sr(box, source, target, "updateExtent")


def manage(call: Call) -> dict[str, Any]:
    """Seed or delete tiles; a job unless ``runAsync=false``."""
    runtime = call.state.require_site()
    store, clock = runtime.site.store, call.state.clock
    service = find_service(
        store, call.args.get("folder", ""), call.args["service"], call.args["type"]
    )
    levels = map_cache.parse_levels(call.params.get("levels"))
    extent = _extent(call)
    count = tiles.count_in(extent, levels)
    work = map_cache.plan(
        call.principal, service, levels, call.params.get("updateMode"), extent, count
    )
    cache = tiles.TileCache(map_output.cache_root(store, service))
    drawer = None if work.deletes else tile_drawer(call, service)
    name = f"{service.qualified_name}.{service.type}"

    def log(message: str) -> None:
        runtime.log.log("INFO", LogCode.MAP_CACHE, SOURCE, message, user=_user(call))

    def run(progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        say = progress or (lambda message: None)
        if drawer is None:
            deleted = cache.delete([extent], levels)
            text = f"Deleted {deleted} tiles of {name} at levels {levels.start}-{levels.stop - 1}."
            log(text)
            say(text)
            return {"status": "success", "tilesDeleted": deleted}
        step = max(count // 20, 1)

        def report(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                text = f"Caching {name}: {done} of {total} tiles ({100 * done // total} %)."
                say(text)
                log(text)

        drawn = cache.seed(extent, levels, drawer, report, redraw=work.mode == "RECREATE_ALL_TILES")
        return {"status": "success", "tilesDrawn": drawn, "tiles": count}

    log(f"{work.mode} of {name}: {count} tiles at levels {levels.start}-{levels.stop - 1}.")
    if not call.params.boolean("runAsync", True):
        return run()
    job = jobs.submit(store, clock, "manageMapCacheTiles", call.principal, run)
    return {"status": "submitted", "jobId": job["jobId"], "jobid": job["jobId"]}


def _user(call: Call) -> str:
    return call.principal.username if call.principal is not None else ""
