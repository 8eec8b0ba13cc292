"""Error answers carry no server path, SQL text or traceback (issue 16, item 7).

The detail goes to the site's log under the request's id; the answer names that id (in the
``X-Request-Id`` header of every error answer, and in the body when detail was held back).
Every error answer of the whole suite is also checked by the hook in ``tests/conftest.py``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import httpx
import pytest

from geosite.errors import InvalidParameter, redact
from geosite.http.errors import envelope
from tests.conftest import PRIVATE_TEXT, LiveSite, _error_texts
from tests.http.test_publishing import DATA_DIR

REQUEST_ID = re.compile(r"Request ID ([0-9a-f]{16})")


def _without_shx() -> bytes:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(DATA_DIR / "naturalearth_cities.zip") as source,
        zipfile.ZipFile(buffer, "w") as target,
    ):
        for name in source.namelist():
            if not name.lower().endswith(".shx"):
                target.writestr(name, source.read(name))
    return buffer.getvalue()


def _publish(site: LiveSite, token: str, name: str, content: bytes) -> httpx.Response:
    upload = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (name, content)},
    ).json()
    assert upload["status"] == "success", upload
    service = {
        "serviceName": "Broken",
        "type": "FeatureServer",
        "properties": {"itemID": upload["item"]["itemID"]},
    }
    return httpx.post(
        site.admin + "/services/createService",
        data={"f": "json", "token": token, "service": json.dumps(service)},
        timeout=120,
    )


def _logged(site: LiveSite, token: str, request_id: str) -> list[dict[str, Any]]:
    site.flush_logs()
    answer = httpx.post(
        site.admin + "/logs/query",
        data={
            "f": "json",
            "token": token,
            "level": "FINE",
            "filter": json.dumps({"requestIds": [request_id]}),
        },
    ).json()
    return answer["logMessages"]  # type: ignore[no-any-return]


def _assert_private(body: Any) -> None:
    texts = list(_error_texts(body))
    assert texts, body
    assert not [t for t in texts if PRIVATE_TEXT.search(t)], body


@pytest.mark.parametrize(
    ("name", "content", "says", "logged"),
    [
        ("roads.zip", _without_shx(), ".shx file is missing", ".shx"),
        ("broken.gpkg", b"SQLite format 3\x00" + b"\x00" * 2000, "could not be read", "SELECT"),
        ("corrupt.zip", b"PK\x03\x04garbage" * 100, "not a valid zip archive", "zip"),
        ("bad.csv", b'a,b\n1,2,3\n\x00\xff,"open\n', "no geometry", "no geometry"),
    ],
)
def test_unreadable_uploads_answer_without_server_detail(
    site: LiveSite, admin_token: str, name: str, content: bytes, says: str, logged: str
) -> None:
    answer = _publish(site, admin_token, name, content)
    body = answer.json()
    assert body["status"] == "error", body
    assert body["code"] == 400, body
    assert any(says in message for message in body["messages"]), body
    _assert_private(body)
    assert "/" not in " ".join(body["messages"]), body
    request_id = answer.headers["X-Request-Id"]
    named = REQUEST_ID.findall(" ".join(body["messages"]))
    assert named in ([], [request_id])
    records = _logged(site, admin_token, request_id)
    assert any(logged in record["message"] for record in records), records


def test_held_back_detail_is_in_the_log(site: LiveSite, admin_token: str) -> None:
    """The missing .shx: the answer names the request; the log has GDAL's words and path."""
    answer = _publish(site, admin_token, "roads.zip", _without_shx())
    body = answer.json()
    (request_id,) = REQUEST_ID.findall(" ".join(body["messages"]))
    assert request_id == answer.headers["X-Request-Id"]
    (record,) = [
        r for r in _logged(site, admin_token, request_id) if "could not be read" in r["message"]
    ]
    assert str(site.data_dir) in record["message"]  # the whole story, for administrators


def test_an_unexpected_failure_names_its_request(site: LiveSite, admin_token: str) -> None:
    """An error of the REST area: a missing service answers 404 with its request id header."""
    answer = httpx.get(
        site.http + "/arcgis/rest/services/Nope/FeatureServer/0/query", params={"f": "json"}
    )
    body = answer.json()
    assert body["error"]["code"] == 404
    assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["X-Request-Id"])
    assert not REQUEST_ID.search(json.dumps(body))  # nothing held back: the text is verbatim


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Unable to open /tmp/a/.import-x/source/roads.shx here", "Unable to open roads.shx here"),
        ("Cannot read directories/arcgissystem/services/ab.gpkg", "Cannot read ab.gpkg"),
        (r"Cannot read C:\arcgis\data\ab.gpkg", "Cannot read ab.gpkg"),
        ("failed: SELECT COUNT(*) FROM sqlite_master WHERE 1", None),
        ('Traceback (most recent call last):\n  File "/x/y.py", line 3', None),
        ("UNIQUE constraint failed: users.username", None),
    ],
)
def test_redact(text: str, shown: str | None) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Service 'Maps/Roads.FeatureServer' does not exist.",
        "See https://example.com/arcgis/rest/services/x.json",
        "Select the file from the folder.",
        "Allowed types: .zip, .csv, .gpkg.",
        "x must lie within [-720, 720]",
    ],
)
def test_redact_leaves_ordinary_words(text: str) -> None:
    assert redact(text) == text


def test_envelopes_hold_back_and_name_the_request() -> None:
    error = InvalidParameter(
        "Bad data at /tmp/x/y.gpkg", details=["SELECT a FROM b"], private=["all of it"]
    )
    rest = envelope(error, "rest", "0123456789abcdef")
    assert rest == {
        "error": {
            "code": 400,
            "message": "Bad data at y.gpkg",
            "details": ["Request ID 0123456789abcdef: the server log has the details."],
        }
    }
    plain = envelope(InvalidParameter("Bad."), "admin", "0123456789abcdef")
    assert plain == {"status": "error", "messages": ["Bad."], "code": 400}


def test_the_suite_wide_check_finds_leaks() -> None:
    """The conftest hook's pattern and walk: what it would fail a test for."""
    leaking = {"status": "error", "messages": ["Unable to open /tmp/a/b.shx"], "code": 400}
    nested = {"addResults": [{"success": False, "error": {"description": 'File "/x.py"'}}]}
    clean = {"error": {"code": 400, "message": "Invalid URL", "details": ["Invalid URL"]}}
    assert any(PRIVATE_TEXT.search(t) for t in _error_texts(leaking))
    assert any(PRIVATE_TEXT.search(t) for t in _error_texts(nested))
    assert not any(PRIVATE_TEXT.search(t) for t in _error_texts(clean))
    assert not list(_error_texts({"features": [{"attributes": {"path": "/tmp/x"}}]}))
