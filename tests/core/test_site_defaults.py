"""What a new site starts with when nothing is asked for."""

from pathlib import Path

from geosite.core import permissions
from geosite.core.clock import AdjustableClock
from geosite.core.site import Site, SiteRequest, create_site
from geosite.storage import load_stores


def test_new_site_defaults(tmp_path: Path) -> None:
    clock = AdjustableClock()
    create_site(
        tmp_path,
        SiteRequest(username="admin", password="admin-Password-1"),
        clock,
        admin_url="http://m:6080/arcgis/admin",
        machine_name="M",
        machine_properties={},
        open_stores=load_stores,
    )
    site = Site.open(tmp_path, clock, load_stores)
    assert site is not None
    try:
        assert site.log_level() == "WARNING"  # ArcGIS Server's default
        root = site.store.list_permissions(permissions.ROOT)
        assert [(p.principal, p.is_allowed) for p in root] == [("esriEveryone", True)]
    finally:
        site.close()
