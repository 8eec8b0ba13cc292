"""``geosite serve --workers 2``: /arcgis/admin/metrics adds up both workers' counts
(prometheus-client's multiprocess mode, in the machine's data directory)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.test_serve import PASSWORD, Server


def _count(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_two_workers_one_scrape(tmp_path: Path) -> None:
    data = tmp_path / "site"
    server = Server(
        data, "--workers", "2", "--admin-password", PASSWORD, "--metrics-addresses", "127.0.0.1"
    )
    try:
        for _ in range(40):
            with httpx.Client() as client:  # a new connection each time: both workers answer
                answer = client.get(server.url + "/arcgis/rest/info", params={"f": "json"})
                assert answer.status_code == 200
        with httpx.Client() as client:
            text = client.get(server.url + "/arcgis/admin/metrics").text
        assert _count(text, 'geosite_requests_total{area="rest",code="200",type="rest"}') >= 40
        assert (data / "metrics").is_dir() and any((data / "metrics").iterdir())
    finally:
        server.stop()
