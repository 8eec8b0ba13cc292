"""Managing a map service's tile cache: which tiles an administrator's request seeds or
deletes, checked (and authorized) here so that the Administrator API, the Manager and the
command line cannot differ.

``updateMode`` is ArcGIS's (*Manage Map Cache Tiles*): ``RECREATE_EMPTY_TILES`` draws the
tiles not cached yet, ``RECREATE_ALL_TILES`` draws them all again, ``DELETE_TILES`` removes
them. Levels are ``levels=first-last`` (or one level); the extent is in Web Mercator.
"""

from __future__ import annotations

from dataclasses import dataclass

from geosite.core import map_service, ownership
from geosite.core.models import Principal, Service
from geosite.errors import InvalidParameter

UPDATE_MODES = ("RECREATE_EMPTY_TILES", "RECREATE_ALL_TILES", "DELETE_TILES")
LEVELS = 24
#: The most tiles one request may draw (about 16 levels over a country).
MAX_TILES = 1_000_000


@dataclass(frozen=True)
class CacheWork:
    """A checked request to seed or delete tiles of one map service."""

    service: Service
    levels: range
    mode: str
    extent: tuple[float, float, float, float]

    @property
    def deletes(self) -> bool:
        """Whether it deletes tiles (else it draws them)."""
        return self.mode == "DELETE_TILES"


def parse_levels(raw: str | None) -> range:
    """``first-last`` or one level, within 0..23 (0-5 when absent)."""
    text = (raw or "0-5").strip()
    first, sep, last = text.partition("-")
    try:
        low, high = int(first), int(last) if sep else int(first)
    except ValueError:
        raise InvalidParameter("levels must be a level or first-last, from 0 to 23.") from None
    if not 0 <= low <= high < LEVELS:
        raise InvalidParameter("levels must be a level or first-last, from 0 to 23.")
    return range(low, high + 1)


def plan(
    caller: Principal | None,
    service: Service,
    levels: range,
    mode: str | None,
    extent: tuple[float, float, float, float],
    tile_count: int,
) -> CacheWork:
    """Check a request (the caller manages the service, which is a cached map service; the
    mode is known; it draws at most ``MAX_TILES``) and describe its work."""
    ownership.check_manage(caller, service.owner)
    if not map_service.is_cached(service):
        raise InvalidParameter(
            "The service has no tile cache.",
            details=["Edit the map service with properties.isCached=true first."],
        )
    chosen = (mode or UPDATE_MODES[0]).strip().upper()
    if chosen not in UPDATE_MODES:
        raise InvalidParameter(f"updateMode must be one of {', '.join(UPDATE_MODES)}.")
    if chosen != "DELETE_TILES" and tile_count > MAX_TILES:
        raise InvalidParameter(
            f"The request would draw {tile_count} tiles; at most {MAX_TILES} at a time.",
            details=["Seed fewer levels or a smaller extent."],
        )
    return CacheWork(service, levels, chosen, extent)
