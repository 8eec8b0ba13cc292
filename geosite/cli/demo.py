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

#: (file, folder, service name, description)
DEMO_SERVICES = (
    ("naturalearth_lowres.zip", "", "Countries", "World countries (Natural Earth 1:110m)"),
    ("naturalearth_cities.zip", "", "Cities", "World cities (Natural Earth populated places)"),
    ("nybb_16a.zip", "NewYork", "Boroughs", "New York City borough boundaries (NYC Open Data)"),
)


def publish_demo(data_dir: Path) -> list[str]:
    """Publish the demo data into the site in ``data_dir``; returns the services' names."""
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
    for filename, folder, name, description in DEMO_SERVICES:
        path = DATA_DIR / filename
        with open(path, "rb") as source:
            item = uploads.save_upload(
                site.store, clock, source, filename, description, max_bytes=path.stat().st_size
            )
        definition = {
            "serviceName": name,
            "type": "FeatureServer",
            "folderName": folder,
            "description": description,
            "capabilities": "Query",
            "properties": {"itemID": item.item_id},
        }
        try:
            service = services.create_service(
                site.store, clock, definition, import_dataset, uploads.ArchiveLimits()
            )
        except GeositeError as exc:
            raise click.ClickException(f"demo service {name}: {exc.messages[0]}") from None
        published.append(service.qualified_name)
