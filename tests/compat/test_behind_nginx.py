"""geosite behind a real nginx that terminates TLS, reached at ``https://…/server``.

nginx (Debian's, started here on a loopback port with a generated configuration and
certificate) proxies ``/server/`` to geosite's ``/arcgis/`` over plain HTTP and says who the
client is in ``X-Forwarded-*``; geosite trusts loopback as its proxy and has ``WebContextURL``
set. The ArcGIS API for Python logs in through the proxy and lists services, and
``rest/info`` advertises the proxy's HTTPS token service.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from geosite.core.tls import ensure_certificate
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site
from tests.http.test_publishing import publish
from tests.nginx import NGINX, free_port, main_config

if NGINX is None:  # pragma: no cover - depends on the machine
    pytest.skip(
        "nginx is not installed (apt-get install nginx-light; .ci/run installs it)",
        allow_module_level=True,
    )

try:
    from arcgis.gis.server import Server
except ImportError as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"the ArcGIS API for Python is not installed ({exc})", allow_module_level=True)

pytestmark = [
    pytest.mark.compat,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]

_SERVER = """  client_max_body_size 200m;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location /server/ {{
      proxy_pass http://127.0.0.1:{upstream}/arcgis/;
      proxy_http_version 1.1;
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host:$server_port;
      proxy_redirect off;
      proxy_buffering off;
      proxy_request_buffering off;
    }}
  }}
"""


@pytest.fixture(scope="module")
def proxied_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    live = make_site(tmp_path_factory.mktemp("behind-nginx"), trusted_proxies=("127.0.0.1",))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def nginx(proxied_site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx terminating TLS in front of the site; yields its public URL (``…/server``)."""
    root = tmp_path_factory.mktemp("nginx")
    cert, key = ensure_certificate(root / "tls", "localhost")
    port = free_port()
    upstream = proxied_site.http.rsplit(":", 1)[1]
    assert NGINX is not None  # the module is skipped without it
    conf = root / "nginx.conf"
    server = _SERVER.format(port=port, cert=cert, key=key, upstream=upstream)
    conf.write_text(main_config(root, server))
    process = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"https://127.0.0.1:{port}/server"
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise RuntimeError("nginx exited: " + (process.stdout.read() if process.stdout else ""))
        try:
            httpx.get(url + "/rest/info/healthCheck", params={"f": "json"}, verify=False)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def configured(proxied_site: LiveSite, nginx: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The site with Parks published and its WebContextURL set to the proxy's URL."""
    token = proxied_site.token()
    data = tmp_path_factory.mktemp("parks") / "parks.geojson"
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]},
         "properties": {"n": i}}
        for i in range(3)
    ]  # fmt: skip
    data.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert publish(proxied_site, token, data, "Parks")["status"] == "success"
    done = httpx.post(
        nginx + "/admin/system/properties/update",
        data={"properties": json.dumps({"WebContextURL": nginx}), "f": "json", "token": token},
        verify=False,
    ).json()
    assert done == {"status": "success"}, done
    return nginx


def test_rest_info_advertises_the_proxys_https_token_service(configured: str) -> None:
    info = httpx.get(configured + "/rest/info", params={"f": "json"}, verify=False).json()
    assert info["authInfo"]["tokenServicesUrl"] == configured + "/tokens/"
    assert info["authInfo"]["tokenServicesUrl"].startswith("https://")


def test_requestip_tokens_bind_to_the_real_client(configured: str) -> None:
    answer = httpx.post(
        configured + "/tokens/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "client": "requestip",
              "f": "json"},
        verify=False,
    ).json()  # fmt: skip
    assert answer["ssl"] is True
    machines = httpx.get(
        configured + "/admin/machines",
        params={"f": "json"},
        headers={"X-Esri-Authorization": f"Bearer {answer['token']}"},
        verify=False,
    ).json()
    assert "machines" in machines, machines


def test_directory_links_and_login_redirect_use_the_proxy_path(configured: str) -> None:
    page = httpx.get(configured + "/rest/services", verify=False)
    assert 'href="/server/rest/services' in page.text
    login = httpx.get(configured + "/admin/machines", verify=False, follow_redirects=False)
    assert login.headers["location"].startswith("/server/admin/login?redirect=/server/admin/")


def test_arcgis_api_for_python_through_the_proxy(configured: str) -> None:
    server: Any = Server(
        url=configured + "/admin",
        username=ADMIN_USER,
        password=ADMIN_PASSWORD,
        verify_cert=False,
    )
    try:
        names = [s.properties["serviceName"] for s in server.services.list()]
        assert "Parks" in names
        (parks,) = [s for s in server.services.list() if s.properties["serviceName"] == "Parks"]
        assert parks.status["realTimeState"] == "STARTED"
    finally:
        server._con._session.close()
