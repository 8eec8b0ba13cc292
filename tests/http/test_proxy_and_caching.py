"""Behind a reverse proxy: forwarded headers from trusted proxies only, WebContextURL, the
context path, and caching headers that never let a cache show one user's answer to another.

Each of these failed on the main before issue 15: the headers were believed from nobody (and so
a proxy's client was seen as the proxy), ``system/properties`` did not exist, the context path
was fixed at ``/arcgis``, and no answer carried any caching header.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site that trusts loopback as its reverse proxy."""
    live = make_site(tmp_path_factory.mktemp("proxied"), trusted_proxies=("127.0.0.1/32",))
    yield live
    live.stop()


def _token(site: LiveSite, headers: dict[str, str] | None = None) -> str:
    answer = httpx.post(
        site.admin + "/generateToken",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "client": "requestip",
            "f": "json",
        },
        headers=headers or {},
    ).json()
    return str(answer["token"])


def _set_properties(site: LiveSite, token: str, properties: dict[str, object]) -> dict[str, object]:
    answer: dict[str, object] = httpx.post(
        site.admin + "/system/properties/update",
        data={"properties": orjson.dumps(properties).decode(), "f": "json", "token": token},
    ).json()
    return answer


# --- forwarded headers -------------------------------------------------------------------


def test_untrusted_peer_cannot_claim_another_address(site: LiveSite) -> None:
    """A client that sends X-Forwarded-For itself is still seen at its own address."""
    token = _token(site, {"X-Forwarded-For": "203.0.113.9"})
    # The token is bound to 127.0.0.1 (the real peer), so it works without the header...
    ok = httpx.get(site.admin + "/machines", params={"f": "json", "token": token})
    assert "machines" in ok.json()
    # ...and the admin address list is checked against the real peer too.
    info = httpx.get(
        site.http + "/arcgis/rest/info",
        params={"f": "json"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
    )
    url = info.json()["authInfo"]["tokenServicesUrl"]
    assert url.startswith(site.http + "/arcgis/tokens"), url


def test_trusted_proxy_gives_client_address_for_requestip_tokens(proxied: LiveSite) -> None:
    """From a trusted proxy, requestip tokens bind to the client the proxy names."""
    client = {"X-Forwarded-For": "198.51.100.7"}
    token = _token(proxied, client)
    ok = httpx.get(
        proxied.admin + "/machines", params={"f": "json", "token": token}, headers=client
    )
    assert "machines" in ok.json()
    other = httpx.get(
        proxied.admin + "/machines",
        params={"f": "json", "token": token},
        headers={"X-Forwarded-For": "198.51.100.8"},
    )
    assert other.json()["status"] == "error"
    assert other.json()["code"] == 498
    # A Forwarded header is not the family this proxy sets: a client's own one is ignored.
    spoof = {"Forwarded": "for=198.51.100.7;host=evil.example", "X-Forwarded-For": "203.0.113.9"}
    again = httpx.get(
        proxied.admin + "/machines", params={"f": "json", "token": token}, headers=spoof
    )
    assert again.json()["code"] == 498


def test_rfc7239_forwarded_when_the_proxy_sets_it(tmp_path: Path) -> None:
    live = make_site(tmp_path / "fwd", trusted_proxies=("127.0.0.1",), proxy_headers="forwarded")
    try:
        chain = {
            "Forwarded": 'for=203.0.113.1, for="198.51.100.7:5555";proto=https;host=gis.example'
        }
        token = _token(live, chain)
        ok = httpx.get(
            live.admin + "/machines", params={"f": "json", "token": token}, headers=chain
        )
        assert "machines" in ok.json()
        info = httpx.get(live.http + "/arcgis/rest/info", params={"f": "json"}, headers=chain)
        assert info.json()["authInfo"]["tokenServicesUrl"] == "https://gis.example/arcgis/tokens/"
        # X-Forwarded-* is the other family here: ignored.
        xff = {"X-Forwarded-For": "198.51.100.7"}
        refused = httpx.get(
            live.admin + "/machines", params={"f": "json", "token": token}, headers=xff
        )
        assert refused.json()["code"] == 498
    finally:
        live.stop()


def test_nearest_proxys_host_and_proto_count(proxied: LiveSite) -> None:
    """Proxies append to X-Forwarded-Host/Proto: the client's own value comes first."""
    headers = {
        "X-Forwarded-Host": "evil.example, gis.example.com",
        "X-Forwarded-Proto": "http, https",
    }
    info = httpx.get(proxied.http + "/arcgis/rest/info", params={"f": "json"}, headers=headers)
    assert info.json()["authInfo"]["tokenServicesUrl"] == "https://gis.example.com/arcgis/tokens/"
    from geosite.http.origin import valid_host

    assert valid_host("gis.example.com:8443") and valid_host("[::1]:6443")
    for bad in ("gis.example.com:\u0661\u0662", "evil.example/x", "a b", "user@host", ""):
        assert not valid_host(bad), bad


def test_trusted_proxy_spoofed_chain_uses_nearest_untrusted_hop(proxied: LiveSite) -> None:
    """A client that prepends a fake address to X-Forwarded-For gains nothing."""
    token = _token(proxied, {"X-Forwarded-For": "198.51.100.20"})
    spoofed = {"X-Forwarded-For": "198.51.100.99, 198.51.100.20"}
    ok = httpx.get(
        proxied.admin + "/machines", params={"f": "json", "token": token}, headers=spoofed
    )
    assert "machines" in ok.json()


def test_admin_address_list_uses_the_forwarded_client(proxied: LiveSite) -> None:
    token = _token(proxied)
    config = httpx.post(
        proxied.admin + "/security/config/update",
        data={"allowedAdminAccessIPs": "127.0.0.1,198.51.100.0/24", "f": "json", "token": token},
    ).json()
    assert config.get("status") == "success", config
    try:
        refused = httpx.get(
            proxied.admin + "/machines",
            params={"f": "json", "token": token},
            headers={"X-Forwarded-For": "203.0.113.50"},
        )
        assert refused.json()["code"] == 403
    finally:
        reset = httpx.post(
            proxied.admin + "/security/config/update",
            data={"allowedAdminAccessIPs": "", "f": "json", "token": token},
        ).json()
        assert reset.get("status") == "success", reset


def test_https_proxy_advertises_https_token_service(proxied: LiveSite) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gis.example.com"}
    info = httpx.get(proxied.http + "/arcgis/rest/info", params={"f": "json"}, headers=headers)
    assert info.json()["authInfo"]["tokenServicesUrl"] == "https://gis.example.com/arcgis/tokens/"
    answer = httpx.post(
        proxied.http + "/arcgis/tokens/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
        headers=headers,
    ).json()
    assert answer["ssl"] is True
    # A Host header that is no host is never written into a URL.
    bad = httpx.get(
        proxied.http + "/arcgis/rest/info",
        params={"f": "json"},
        headers={"X-Forwarded-Host": "evil.example/<script>"},
    )
    assert "<script>" not in bad.text


def test_https_only_site_never_advertises_http_token_service(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    done = httpx.post(
        fresh_site.https + "/arcgis/admin/security/config/update",
        data={"sslEnabled": "true", "httpEnabled": "false", "f": "json", "token": token},
        verify=False,
    ).json()
    assert done.get("status") == "success", done
    info = httpx.get(
        fresh_site.http + "/arcgis/rest/info",
        params={"f": "json"},
        follow_redirects=True,
        verify=False,
    )
    url = info.json()["authInfo"]["tokenServicesUrl"]
    port = fresh_site.https.rsplit(":", 1)[1]
    assert url == f"https://127.0.0.1:{port}/arcgis/tokens/"


# --- WebContextURL -----------------------------------------------------------------------


def test_web_context_url_rewrites_every_url(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    assert (
        httpx.get(
            fresh_site.admin + "/system/properties", params={"f": "json", "token": token}
        ).json()
        == {}
    )
    done = _set_properties(fresh_site, token, {"WebContextURL": "https://gis.example.com/server"})
    assert done == {"status": "success"}
    props = httpx.get(
        fresh_site.admin + "/system/properties", params={"f": "json", "token": token}
    ).json()
    assert props == {"WebContextURL": "https://gis.example.com/server"}
    info = httpx.get(fresh_site.http + "/arcgis/rest/info", params={"f": "json"}).json()
    assert info["authInfo"]["tokenServicesUrl"] == "https://gis.example.com/server/tokens/"
    # The directories' links and the login redirect use the public path.
    page = httpx.get(fresh_site.admin + "/", params={"token": token})
    assert 'href="/server/admin/' in page.text
    assert "/arcgis/" not in page.text
    services = httpx.get(fresh_site.http + "/arcgis/rest/services")
    assert 'href="/server/rest/services' in services.text
    login = httpx.get(fresh_site.admin + "/machines", follow_redirects=False)
    assert login.status_code == 302
    assert login.headers["location"].startswith("/server/admin/login?redirect=/server/admin/")
    # The login form posts to the public path and sends the person back there.
    form = httpx.get(fresh_site.admin + "/login")
    assert 'action="/server/admin/login"' in form.text


@pytest.mark.parametrize(
    "value",
    [
        "ftp://gis.example.com/server",
        "/server",
        "https://",
        "https://h/x?token=1",
        "https://user:pw@h/server",
        'https://h/"><script>',
        "https://gis.example.com//evil.com",
        "https://h/../x",
        42,
    ],
)
def test_web_context_url_is_validated(site: LiveSite, admin_token: str, value: object) -> None:
    answer = _set_properties(site, admin_token, {"WebContextURL": value})
    assert answer["status"] == "error"
    assert answer["code"] == 400
    assert "pw" not in str(answer)  # a refused URL is not repeated: it may hold a password
    props = httpx.get(
        site.admin + "/system/properties", params={"f": "json", "token": admin_token}
    ).json()
    assert "WebContextURL" not in props


def test_properties_update_needs_json_object(site: LiveSite, admin_token: str) -> None:
    for raw in ("", "[1]", "{bad", '{"a": {"nested": 1}}'):
        answer = httpx.post(
            site.admin + "/system/properties/update",
            data={"properties": raw, "f": "json", "token": admin_token},
        ).json()
        assert answer["code"] == 400, raw
    # Other properties are kept as given, as ArcGIS keeps them.
    assert _set_properties(site, admin_token, {"disableServicesDirectory": False}) == {
        "status": "success"
    }
    _set_properties(site, admin_token, {})


# --- context path ------------------------------------------------------------------------


def test_context_path_server(tmp_path: Path) -> None:
    live = make_site(tmp_path / "ctx", context_path="/server")
    try:
        token = live.token()
        assert live.admin.endswith("/server/admin")
        info = httpx.get(live.http + "/server/rest/info", params={"f": "json"}).json()
        assert info["authInfo"]["tokenServicesUrl"] == live.http + "/server/tokens/"
        machines = httpx.get(live.admin + "/machines", params={"f": "json", "token": token})
        assert "machines" in machines.json()
        assert (
            httpx.get(live.http + "/arcgis/rest/info", params={"f": "json"}).json()["error"]["code"]
            == 404
        )
        root = httpx.get(live.http + "/", follow_redirects=False)
        assert root.headers["location"] == "/server/admin/"
        page = httpx.get(live.admin + "/", params={"token": token})
        assert 'href="/server/static/geosite.css"' in page.text
        assert "/arcgis/" not in page.text
        assert httpx.get(live.http + "/server/static/geosite.css").status_code == 200
        login = httpx.post(
            live.admin + "/login",
            data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
            follow_redirects=False,
        )
        assert login.status_code == 303
        assert "Path=/server" in login.headers["set-cookie"]
    finally:
        live.stop()


def test_context_path_is_validated() -> None:
    from geosite.settings import normalize_context_path

    assert normalize_context_path("server/") == "/server"
    assert normalize_context_path("/arcgis") == "/arcgis"
    for bad in ("", "/", "/a b", "/../x", "/a?b"):
        with pytest.raises(ValueError):
            normalize_context_path(bad)


# --- caching -----------------------------------------------------------------------------


def test_private_answers_are_never_stored(site: LiveSite, admin_token: str) -> None:
    auth = {"X-Esri-Authorization": f"Bearer {admin_token}"}
    for url, kwargs in [
        (site.admin + "/machines", {"params": {"f": "json"}, "headers": auth}),
        (site.http + "/arcgis/rest/services", {"params": {"f": "json"}, "headers": auth}),
        (site.http + "/arcgis/rest/services", {"params": {"f": "json", "token": admin_token}}),
        (site.admin + "/", {"params": {"f": "json"}}),  # an error: token required
    ]:
        answer = httpx.get(url, **kwargs)  # type: ignore[arg-type]
        assert answer.headers["cache-control"] == "private, no-store", url
        assert "etag" not in answer.headers
    token = httpx.post(
        site.http + "/arcgis/tokens/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"},
    )
    assert token.headers["cache-control"] == "private, no-store"


def test_public_answers_revalidate_with_etag(site: LiveSite, admin_token: str) -> None:
    url = site.http + "/arcgis/rest/services"
    first = httpx.get(url, params={"f": "json"})
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    assert "X-Esri-Authorization" in first.headers["vary"]
    again = httpx.get(url, params={"f": "json"}, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    # The tag changes when the service list changes.
    made = httpx.post(
        site.admin + "/services/createFolder",
        data={"folderName": "CacheProbe", "f": "json", "token": admin_token},
    ).json()
    assert made.get("status") == "success", made
    try:
        changed = httpx.get(url, params={"f": "json"}, headers={"If-None-Match": tag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != tag
    finally:
        httpx.post(
            site.admin + "/services/CacheProbe/deleteFolder",
            data={"f": "json", "token": admin_token},
        )


def test_query_etag_changes_when_the_data_changes(fresh_site: LiveSite, tmp_path: Path) -> None:
    from tests.http.test_publishing import publish

    token = fresh_site.token()
    data = tmp_path / "points.geojson"
    data.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":1},'
        '"geometry":{"type":"Point","coordinates":[1,2]}}]}'
    )
    answer = publish(fresh_site, token, data, "Points", capabilities="Query,Create,Update,Delete")
    assert answer["status"] == "success", answer
    layer = fresh_site.http + "/arcgis/rest/services/Points/FeatureServer/0"
    params = {"where": "1=1", "outFields": "*", "f": "json"}
    first = httpx.get(layer + "/query", params=params)
    tag = first.headers["etag"]
    assert (
        httpx.get(layer + "/query", params=params, headers={"If-None-Match": tag}).status_code
        == 304
    )
    meta = httpx.get(layer, params={"f": "json"})
    assert meta.headers["cache-control"] == "no-cache" and "etag" in meta.headers
    added = httpx.post(
        layer + "/addFeatures",
        data={
            "features": '[{"attributes":{"n":2},"geometry":{"x":3,"y":4}}]',
            "f": "json",
            "token": token,
        },
    ).json()
    assert added["addResults"][0]["success"] is True, added
    after = httpx.get(layer + "/query", params=params, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
    assert len(after.json()["features"]) == 2


def test_unsupported_layer_operation_says_so(site: LiveSite, admin_token: str) -> None:
    """Before issue 15, ``0/queryRelatedRecords`` answered "Invalid object id"."""
    from geosite.demo import DATA_DIR
    from tests.http.test_publishing import publish

    answer = publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "OpsProbe")
    assert answer["status"] == "success", answer
    layer = site.http + "/arcgis/rest/services/OpsProbe/FeatureServer/0"
    related = httpx.get(layer + "/queryRelatedRecords", params={"f": "json"}).json()
    assert related["error"]["message"] == "Requested operation is not supported by this service."
    assert "queryRelatedRecords" in related["error"]["details"][0]
    unknown = httpx.get(layer + "/noSuchThing", params={"f": "json"}).json()
    assert unknown["error"]["code"] == 400
    assert "neither an object id nor an operation" in unknown["error"]["details"][0]
    assert httpx.get(layer + "/1", params={"f": "json"}).json()["feature"]["attributes"]


def test_openapi_and_stylesheet_are_cacheable(site: LiveSite) -> None:
    document = httpx.get(site.http + "/arcgis/rest/openapi.json")
    assert document.headers["cache-control"] == "no-cache"
    again = httpx.get(
        site.http + "/arcgis/rest/openapi.json",
        headers={"If-None-Match": document.headers["etag"]},
    )
    assert again.status_code == 304
    css = httpx.get(site.http + "/arcgis/static/geosite.css")
    assert css.headers["cache-control"] == "public, max-age=3600"
    assert "last-modified" in css.headers
