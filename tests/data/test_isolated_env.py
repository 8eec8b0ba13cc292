"""The import process reads its own GDAL and PROJ data, not the copies that importing
``mapnik`` in the server process puts into the environment it inherits."""

from __future__ import annotations

import os

import mapnik  # noqa: F401  (importing it sets GDAL_DATA, PROJ_LIB, ICU_DATA when unset)
import pytest

from geosite.data.isolated import _without_mapnik_data


def test_mapnik_data_paths_are_left_out_and_an_operators_are_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    inherited = os.environ.get("PROJ_LIB", "")
    assert "mapnik" in inherited, "importing mapnik sets PROJ_LIB to its own copy"
    # Recorded by monkeypatch first, so that the rest of the session gets them back.
    for name in ("PROJ_LIB", "ICU_DATA", "PROJ_DATA"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
    monkeypatch.setenv("GDAL_DATA", str(tmp_path))  # an operator's own choice
    _without_mapnik_data()
    assert "PROJ_LIB" not in os.environ and "ICU_DATA" not in os.environ
    assert os.environ["GDAL_DATA"] == str(tmp_path)
