"""``/arcgis/admin/metrics``: Prometheus's text format, for administrators (with a token) and
for the scrape addresses the machine names (without one); nobody else."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site


def _value(text: str, prefix: str) -> float:
    """The sum of the samples whose line starts with ``prefix``."""
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_metrics_for_administrators(site: LiveSite, admin_token: str) -> None:
    url = site.admin + "/metrics"
    anonymous = httpx.get(url, params={"f": "json"}).json()
    assert anonymous["code"] == 499
    before = httpx.get(url, params={"token": admin_token})
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    tokens = site.http + "/arcgis/tokens/generateToken"
    httpx.post(tokens, data={"f": "json", "username": ADMIN_USER, "password": "wrong"})
    httpx.post(tokens, data={"f": "json", "username": ADMIN_USER, "password": ADMIN_PASSWORD})
    for _ in range(3):
        httpx.get(site.http + "/arcgis/rest/services", params={"f": "json"})
    text = httpx.get(url, params={"token": admin_token}).text
    assert 'geosite_logins_total{outcome="failure"}' in text
    assert _value(text, 'geosite_logins_total{outcome="success"}') >= 1
    rest = 'geosite_requests_total{area="rest",code="200",type="rest"}'
    assert _value(text, rest) >= _value(before.text, rest) + 3
    assert "geosite_request_seconds_bucket" in text
    bad = httpx.get(site.admin + "/services", params={"f": "json", "token": "nope"})
    assert bad.json()["code"] == 498
    after = httpx.get(url, params={"token": admin_token}).text
    assert _value(after, "geosite_token_failures_total") >= 1


def test_other_users_are_refused(site: LiveSite, admin_token: str) -> None:
    created = httpx.post(
        site.admin + "/security/users/add",
        data={
            "f": "json",
            "token": admin_token,
            "username": "metricsviewer",
            "password": "Viewer-pass-1234",
        },
    ).json()
    assert created["status"] == "success", created
    token = httpx.post(
        site.http + "/arcgis/tokens/generateToken",
        data={"f": "json", "username": "metricsviewer", "password": "Viewer-pass-1234"},
    ).json()["token"]
    refused = httpx.get(site.admin + "/metrics", params={"f": "json", "token": token}).json()
    assert refused["code"] == 403


def test_a_scrape_address_needs_no_token(tmp_path: Path) -> None:
    open_site = make_site(tmp_path / "site", metrics_addresses=("127.0.0.0/8",))
    try:
        scraped = httpx.get(open_site.admin + "/metrics")
        assert scraped.status_code == 200 and "geosite_requests_total" in scraped.text
    finally:
        open_site.stop()
