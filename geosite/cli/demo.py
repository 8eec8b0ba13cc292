"""Publishing the demo services on a new site (``geosite serve --demo``, used by ``make serve``)."""

from __future__ import annotations

from pathlib import Path

import click

from geosite.core import services, uploads
from geosite.core.clock import SystemClock
from geosite.core.services import Importer
from geosite.core.site import Site
from geosite.data.isolated import isolated_importer
from geosite.demo import DATA_DIR
from geosite.errors import GeositeError
from geosite.storage import load_stores

_COUNTRIES, _CITIES = "naturalearth_lowres.zip", "naturalearth_cities.zip"
_FEATURES, _MAP = "FeatureServer", "MapServer"
#: (file, folder, service name, type, description)
DEMO_SERVICES = (
    (_COUNTRIES, "", "Countries", _FEATURES, "World countries (Natural Earth 1:110m)"),
    (_CITIES, "", "Cities", _FEATURES, "World cities (Natural Earth populated places)"),
    ("nybb_16a.zip", "NewYork", "Boroughs", _FEATURES, "New York City boroughs (NYC Open Data)"),
    (_COUNTRIES, "Maps", "World", _MAP, "World countries as a cached map with feature access"),
)
#: The demo map's extras: feature access (its FeatureServer) and a tile cache.
_MAP_EXTRAS = {
    "extensions": [{"typeName": "FeatureServer", "enabled": "true", "capabilities": "Query"}],
}


def publish_demo(data_dir: Path) -> list[str]:
    """Publish the demo data into the site in ``data_dir``; returns the services' names with
    their types (``Maps/World (MapServer)``)."""
    clock = SystemClock()
    site = Site.open(data_dir, clock, load_stores)
    if site is None:
        raise click.ClickException(f"{data_dir} holds no site.")
    published: list[str] = []
    # One child process imports the three data sets; the server process never loads GDAL.
    with isolated_importer() as import_dataset:
        try:
            _publish_all(site, clock, import_dataset, published)
        finally:
            site.close()
    return published


def _publish_all(
    site: Site, clock: SystemClock, import_dataset: Importer, published: list[str]
) -> None:
    for filename, folder, name, kind, description in DEMO_SERVICES:
        path = DATA_DIR / filename
        with open(path, "rb") as source:
            item = uploads.save_upload(
                site.store, clock, source, filename, description, max_bytes=path.stat().st_size
            )
        definition: dict[str, object] = {
            "serviceName": name,
            "type": kind,
            "folderName": folder,
            "description": description,
            "capabilities": "Query" if kind == "FeatureServer" else "",
            "properties": {"itemID": item.item_id},
        }
        if kind == "MapServer":
            definition.update(_MAP_EXTRAS)
            definition["properties"] = {"itemID": item.item_id, "isCached": "true"}
        try:
            service = services.create_service(
                site.store, clock, definition, import_dataset, uploads.ArchiveLimits()
            )
        except GeositeError as exc:
            raise click.ClickException(f"demo service {name}: {exc.messages[0]}") from None
        published.append(f"{service.qualified_name} ({service.type})")
