"""``geosite webadaptor nginx``: the configuration it prints runs in a real nginx, which
balances over the site's machines and skips one that does not answer (for reads; a POST is
never sent twice)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from geosite.cli import main
from geosite.cli.webadaptor import Upstream, render
from geosite.core.models import Machine
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, make_site
from tests.nginx import NGINX, free_port, start_nginx


def test_the_configuration_is_checked() -> None:
    """Values that would change the configuration's meaning are refused."""
    good = [Upstream("M", "127.0.0.1", 6080)]
    assert "server 127.0.0.1:6080" in render(good)
    for bad in (
        {"server_name": "x; include /etc/passwd"},
        {"max_upload": "1g; x"},
        {"listen": "443; y"},
        {"context": "/arcgis/ { }"},
    ):
        with pytest.raises(Exception, match=r"must|is a port"):
            render(good, **bad)  # type: ignore[arg-type]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)")
def test_nginx_in_front_of_the_site(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", trusted_proxies=("127.0.0.1",))
    root = tmp_path / "nginx"
    root.mkdir()
    process = None
    try:
        port = int(site.http.rsplit(":", 1)[1])
        token = site.token()
        [machine] = httpx.get(
            site.admin + "/machines",
            params={"f": "json"},
            headers={"X-Esri-Authorization": f"Bearer {token}"},
        ).json()["machines"]
        edited = httpx.post(
            site.admin + f"/machines/{machine['machineName']}/edit",
            data={
                "f": "json",
                "token": token,
                "adminURL": f"{site.http}/arcgis/admin",
                "HTTPPort": str(port),
            },
        ).json()
        assert edited == {"status": "success"}
        dead = free_port()  # a machine that does not answer
        site.store.add_machine(
            Machine(
                "DOWN.MACHINE",
                f"http://127.0.0.1:{dead}/arcgis/admin",
                1,
                1,
                properties={"ports": {"HTTPPort": dead}},
            )
        )
        listen = free_port()
        env = {
            "GEOSITE_USER": ADMIN_USER,
            "GEOSITE_PASSWORD": ADMIN_PASSWORD,
            "GEOSITE_URL": site.http + "/arcgis",
            "GEOSITE_CONFIG_DIR": str(tmp_path / "c"),
        }
        result = CliRunner().invoke(
            main,
            [
                "webadaptor",
                "nginx",
                "--listen",
                f"127.0.0.1:{listen}",
                "--register",
                f"http://127.0.0.1:{listen}/arcgis",
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        config = result.output
        assert f"server 127.0.0.1:{port} " in config and f"server 127.0.0.1:{dead} " in config
        registered = httpx.get(
            site.admin + "/system/webadaptors", params={"f": "json", "token": token}
        ).json()["webAdaptors"]
        assert [w["webAdaptorURL"] for w in registered] == [f"http://127.0.0.1:{listen}/arcgis"]
        base = f"http://127.0.0.1:{listen}/arcgis"
        process = start_nginx(root, config, base, wait_s=20)
        # Every read gets through although one of the two machines is down.
        for _ in range(10):
            answer = httpx.get(base + "/rest/services", params={"f": "json"})
            assert answer.status_code == 200 and "folders" in answer.json()
        logged_in = httpx.post(
            base + "/tokens/generateToken",
            data={
                "f": "json",
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
                "client": "requestip",
            },
        )
        # A POST may reach the machine that is down (nginx does not send it twice): then 502.
        assert logged_in.status_code in (200, 502)
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        site.stop()
