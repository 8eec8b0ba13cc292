"""The feature-data contract on GeoPackage, the embedded default."""

from __future__ import annotations

import shutil
from pathlib import Path

from geosite.core.models import LayerDescription
from geosite.data.gpkg_source import GeoPackageData
from geosite.data.registry import open_data, scheme_of
from geosite.data.source import FeatureData
from geosite.engines.source_contract import FeatureSourceContract


class TestGeoPackageSource(FeatureSourceContract):
    def make_data(self, gpkg: Path, layers: list[LayerDescription]) -> FeatureData:
        copy = gpkg.with_name(f"copy-{len(list(gpkg.parent.iterdir()))}.gpkg")
        shutil.copyfile(gpkg, copy)
        return open_data(str(copy))


def test_locations_name_their_backend() -> None:
    assert scheme_of("/srv/geosite/data/abc.gpkg") == "gpkg"
    assert scheme_of("gpkg:/srv/abc.gpkg") == "gpkg"
    assert scheme_of("postgis:site/s_abc") == "postgis"
    assert scheme_of("C:/data/abc.gpkg") == "gpkg"  # a drive letter is not a scheme
    assert isinstance(open_data("gpkg:/nowhere.gpkg"), GeoPackageData)
