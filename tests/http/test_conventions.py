"""Request conventions shared by every resource (admin-api §2, services-api §1)."""

import httpx
import pytest

from tests.conftest import LiveSite


def test_get_and_post_are_interchangeable_for_resources(site: LiveSite, admin_token: str) -> None:
    by_get = httpx.get(site.admin + "/machines", params={"f": "json", "token": admin_token})
    by_post = httpx.post(site.admin + "/machines", data={"f": "json", "token": admin_token})
    assert by_get.json() == by_post.json()
    assert by_get.json()["machines"][0]["machineName"] == "TESTMACHINE.EXAMPLE"


def test_query_string_and_form_are_merged(site: LiveSite, admin_token: str) -> None:
    answer = httpx.post(site.admin + "/machines?f=json", data={"token": admin_token})
    assert "machines" in answer.json()


def test_multipart_parameters(site: LiveSite, admin_token: str) -> None:
    answer = httpx.post(
        site.admin + "/machines", files={"f": (None, "json"), "token": (None, admin_token)}
    )
    assert "machines" in answer.json()


def test_empty_means_absent(site: LiveSite, admin_token: str) -> None:
    answer = httpx.post(
        site.admin + "/security/users/search",
        data={"f": "json", "token": admin_token, "filter": "", "maxCount": ""},
    )
    assert [u["username"] for u in answer.json()["users"]] == ["siteadmin"]


@pytest.mark.parametrize("path", ["/machines", "/machines/", "/machines//", "/MACHINES"])
def test_trailing_slashes_and_case(site: LiveSite, admin_token: str, path: str) -> None:
    answer = httpx.get(site.admin + path, params={"f": "json", "token": admin_token})
    assert "machines" in answer.json()


def test_admin_root_with_and_without_slash(site: LiveSite, admin_token: str) -> None:
    for url in (site.admin, site.admin + "/"):
        body = httpx.get(url, params={"f": "json", "token": admin_token}).json()
        assert "machines" in body["resources"]


def test_pjson_is_indented_json_is_compact(site: LiveSite, admin_token: str) -> None:
    compact = httpx.get(site.admin + "/machines", params={"f": "json", "token": admin_token})
    pretty = httpx.get(site.admin + "/machines", params={"f": "pjson", "token": admin_token})
    assert b": " not in compact.content and b", " not in compact.content
    assert b"\n  " in pretty.content
    assert compact.json() == pretty.json()
    assert compact.headers["content-type"].startswith("application/json")


def test_f_is_case_insensitive(site: LiveSite, admin_token: str) -> None:
    answer = httpx.get(site.admin + "/machines", params={"f": "JSON", "token": admin_token})
    assert "machines" in answer.json()


def test_bad_f_gets_an_envelope(site: LiveSite, admin_token: str) -> None:
    answer = httpx.get(site.admin + "/machines", params={"f": "xml<", "token": admin_token})
    assert answer.status_code == 200
    assert answer.json()["status"] == "error" and answer.json()["code"] == 400
    rest = httpx.get(site.http + "/arcgis/rest/info", params={"f": "kmz"})
    assert rest.json()["error"]["code"] == 400


def test_html_is_the_default_format(site: LiveSite) -> None:
    answer = httpx.get(site.http + "/arcgis/rest/info")
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1"])
def test_booleans_in_any_case(value: str) -> None:
    from geosite.http.params import Params

    assert Params({"b": value}).boolean("b") is True
    assert (
        Params(
            {
                "b": value.replace("1", "0")
                .replace("rue", "alse")
                .replace("RUE", "ALSE")
                .replace("t", "f")
                .replace("T", "F")
            }
        ).boolean("b")
        is False
    )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ('{"a": [1, "b"]}', {"a": [1, "b"]}),
        # A Python dict's repr, as ArcREST 3.5.9 sends stopServices' 'services'.
        (
            "{'services': [{'folderName': '', 'type': 'MapServer'}]}",
            {"services": [{"folderName": "", "type": "MapServer"}]},
        ),
        ("{'a': 'it\\'s \"so\"', \"b\": \"q'q\"}", {"a": 'it\'s "so"', "b": "q'q"}),
    ],
)
def test_json_parameters_may_be_single_quoted(text: str, parsed: object) -> None:
    from geosite.http.params import Params

    assert Params({"j": text}).json("j") == parsed


@pytest.mark.parametrize("text", ["{'a", "{'a': }", "[1,", "'unclosed"])
def test_broken_json_parameters_are_refused(text: str) -> None:
    from geosite.errors import InvalidParameter
    from geosite.http.params import Params

    with pytest.raises(InvalidParameter, match="'j' is not valid JSON"):
        Params({"j": text}).json("j")


def test_jsonp_on_rest(site: LiveSite) -> None:
    answer = httpx.get(
        site.http + "/arcgis/rest/info", params={"f": "json", "callback": "window._cb.c0"}
    )
    assert answer.text.startswith("window._cb.c0({") and answer.text.endswith(");")
    assert answer.headers["content-type"].startswith("application/javascript")


@pytest.mark.parametrize("callback", ["alert(1)//", "a b", "</script>", "x;y", "a" * 200])
def test_unsafe_jsonp_callbacks_are_refused(site: LiveSite, callback: str) -> None:
    answer = httpx.get(site.http + "/arcgis/rest/info", params={"f": "json", "callback": callback})
    assert answer.json()["error"]["code"] == 400
    assert callback not in answer.text


def test_jsonp_is_refused_on_admin(site: LiveSite, admin_token: str) -> None:
    answer = httpx.get(
        site.admin + "/machines", params={"f": "json", "callback": "cb", "token": admin_token}
    )
    assert answer.json()["status"] == "error"
    assert not answer.text.startswith("cb(")


def test_cors(site: LiveSite) -> None:
    answer = httpx.get(
        site.http + "/arcgis/rest/info",
        params={"f": "json"},
        headers={"Origin": "https://app.example"},
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    preflight = httpx.options(
        site.http + "/arcgis/rest/info",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-esri-authorization",
        },
    )
    assert preflight.status_code == 204
    assert "X-Esri-Authorization" in preflight.headers["access-control-allow-headers"]
    assert "POST" in preflight.headers["access-control-allow-methods"]


def test_unknown_admin_resource(site: LiveSite, admin_token: str) -> None:
    answer = httpx.get(site.admin + "/arcgisoutput2", params={"f": "json", "token": admin_token})
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "error",
        "code": 404,
        "messages": ["Could not find resource or operation 'arcgisoutput2' on the system."],
    }


def test_unknown_rest_resource(site: LiveSite) -> None:
    answer = httpx.get(site.http + "/arcgis/rest/nothing/here", params={"f": "json"})
    error = answer.json()["error"]
    assert error["code"] == 404 and isinstance(error["details"], list)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_methods(site: LiveSite, method: str) -> None:
    answer = httpx.request(method, site.admin + "/machines?f=json")
    assert answer.status_code == 200
    assert answer.json()["code"] == 405


def test_operation_needs_post(site: LiveSite, admin_token: str) -> None:
    answer = httpx.get(
        site.admin + "/security/users/search", params={"f": "json", "token": admin_token}
    )
    assert answer.json()["code"] == 405


def test_missing_parameters(site: LiveSite) -> None:
    answer = httpx.post(site.admin + "/generateToken", data={"f": "json", "username": "x"})
    body = answer.json()
    assert body["status"] == "error" and body["code"] == 400


def test_oversized_parameter(site: LiveSite) -> None:
    answer = httpx.post(
        site.admin + "/generateToken",
        data={"f": "json", "username": "x" * 300_000, "password": "y"},
    )
    assert answer.status_code == 200
    assert answer.json()["code"] == 400
    assert "too large" in answer.json()["messages"][0]


def test_oversized_body(site: LiveSite) -> None:
    answer = httpx.post(
        site.admin + "/generateToken?f=json",
        content=b"a=" + b"b" * 3_000_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert answer.json()["code"] == 400


def test_too_many_fields(site: LiveSite) -> None:
    body = "&".join(f"p{i}=1" for i in range(5000))
    answer = httpx.post(
        site.admin + "/generateToken?f=json",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.json()["code"] == 400


@pytest.mark.parametrize(
    "body,ctype",
    [
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"{not json", "application/json"),
    ],
)
def test_malformed_bodies(site: LiveSite, body: bytes, ctype: str) -> None:
    answer = httpx.post(
        site.admin + "/generateToken?f=json", content=body, headers={"content-type": ctype}
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "error"


def test_malformed_json_parameter(site: LiveSite) -> None:
    answer = httpx.post(
        site.admin + "/createNewSite",
        data={"f": "json", "username": "a", "password": "b", "configStoreConnection": "{'oops"},
    )
    assert answer.json()["status"] == "error"


def test_no_traceback_ever(site: LiveSite, admin_token: str) -> None:
    probes = [
        "/machines/%00",
        "/machines/" + "x" * 5000,
        "/..%2f..%2fetc/passwd",
        "/security/users/search?maxCount=-5",
        "/security/users/search?maxCount=1e99",
    ]
    for probe in probes:
        answer = httpx.post(site.admin + probe, data={"f": "json", "token": admin_token})
        assert answer.status_code < 500
        assert "Traceback" not in answer.text
        assert answer.json().get("status") == "error"


def test_huge_token_is_just_invalid(site: LiveSite) -> None:
    answer = httpx.get(site.admin + "/info", params={"f": "json", "token": "A" * 10000})
    assert answer.json()["code"] == 498


def test_head_requests(site: LiveSite) -> None:
    answer = httpx.head(site.http + "/arcgis/rest/info", params={"f": "json"})
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-type"].startswith("application/json")
