"""Upgrading a site's stores once, before ``geosite serve`` starts its workers."""

from __future__ import annotations

from pathlib import Path

import click

from geosite.core.site import read_pointer
from geosite.errors import GeositeError
from geosite.storage import load_stores


def upgrade_stores(data_dir: Path) -> None:
    """Apply the schema migrations the site's stores lack; a store too new stops the start.

    The workers would upgrade too (``Site.open``); doing it here first reports what changed
    once, and refuses a store written by a newer geosite before anything listens.
    """
    pointer = read_pointer(data_dir)
    if pointer is None:
        return
    site_store, log_store = load_stores(pointer.config_store)
    try:
        for name, store in (("site store", site_store), ("log store", log_store)):
            before = store.schema_version()
            store.initialize_schema()
            after = store.schema_version()
            if before != after:  # a new site was made at the latest version: not shown
                was = f"schema version {before}" if before else "a layout without a version"
                click.echo(f"Upgraded the {name} from {was} to schema version {after}.")
    except GeositeError as exc:
        raise click.ClickException(" ".join(exc.messages + exc.details)) from None
    finally:
        site_store.close()
        log_store.close()
