"""Paths outside the ArcGIS areas answer a real HTTP 404, as ArcGIS Server's web server does.

Inside ``/arcgis/admin``, ``/arcgis/rest`` and ``/arcgis/tokens`` an unknown resource is an
ArcGIS error envelope sent with HTTP 200, as ArcGIS Server sends it. Anywhere else there is no
ArcGIS Server at all on a real site, only its web server's 404; clients rely on that. Esri's
arcrest 10.3 looks for the token service at ``/tokens/generateToken`` first and moves on to
``/arcgis/tokens/generateToken`` only when the first one fails with an HTTP error: an envelope
sent with 200 stopped it there (tests/compat/test_published_arcrest.py).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite

CREDENTIALS = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip"}


@pytest.mark.parametrize("path", ["/tokens/generateToken", "/admin/generateToken", "/nothing"])
@pytest.mark.parametrize("fmt", ["json", "pjson"])
def test_outside_the_areas_is_an_http_404(site: LiveSite, path: str, fmt: str) -> None:
    posted = httpx.post(site.http + path, data={**CREDENTIALS, "f": fmt})
    assert posted.status_code == 404
    assert posted.json()["error"]["code"] == 404
    assert "token" not in posted.json()
    got = httpx.get(site.http + path, params={"f": fmt})
    assert got.status_code == 404
    assert got.json()["error"]["code"] == 404


def test_outside_the_areas_html_page_is_a_404(site: LiveSite) -> None:
    page = httpx.get(site.http + "/tokens/generateToken")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


def test_inside_the_areas_an_unknown_resource_stays_an_envelope_with_200(site: LiveSite) -> None:
    for path in ("/arcgis/tokens/nothing", "/arcgis/rest/nothing", "/arcgis/admin/nothing"):
        answer = httpx.post(site.http + path, data={"f": "json", "token": site.token()})
        assert answer.status_code == 200, path
        body = answer.json()
        assert body.get("code", body.get("error", {}).get("code")) == 404, body


def test_the_token_service_inside_the_area_still_answers(site: LiveSite) -> None:
    answer = httpx.post(
        site.http + "/arcgis/tokens/generateToken", data={**CREDENTIALS, "f": "json"}
    )
    assert answer.status_code == 200
    assert answer.json()["token"]
