"""The web corpus (issue 6, R10): hostile text in every value an HTML page shows, hostile paths
in every name that becomes a path or a lookup, and hostile archives through upload + publish.

One site is planted with a corpus of XSS payloads (users, roles, folders, a service and its
item info, feature attributes, data items, uploads, log records); every HTML page that shows
them is fetched and checked: the payload never comes back as markup, it is there escaped, and
the page carries the security headers. Then a corpus of path payloads goes into URLs and
parameters, and zip-slip and zip-bomb archives go through ``uploads/upload`` and
``createService``: each answer is a clean ArcGIS error envelope, and nothing outside the
site's directory is read or written (a sentinel file next to the site is checked).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import stat
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
import orjson
import pytest
from markupsafe import escape

from geosite.core.models import LockoutPolicy
from tests.conftest import LiveSite, make_site
from tests.http.test_publishing import publish
from tests.http.test_uploads import _upload

# -- the corpora --------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    "<img\tsrc=x\nonerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</pre><script>alert(1)</script>",
    "</option></select><img src=x onerror=alert(1)>",
    "{{7*7}}",
    "{{ config.items() }}",
    "{% for x in range(99999999) %}x{% endfor %}",
    "{# comment #}{%raw%}",
    "${7*7}#{7*7}<%= 7*7 %>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "` onerror=`alert(1)",
    "``onmouseover=alert(1)",
    '" autofocus onfocus=alert(1) x="',
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<body onload=alert(1)>",
    "<math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<style>@import'//evil.example/x.css'</style>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "<base href=//evil.example/>",
    "<form action=//evil.example><button>go</button></form>",
    "\u2028<script>alert(1)</script>\u2029",
    "\x00<script>alert(1)</script>",
]

#: Names that, given to the path or lookup they reach, try to leave it.
_FIXED_PATHS = [
    "..",
    "../",
    "../..",
    "..%2f",
    "..%2F",
    "%2e%2e",
    "%2e%2e/",
    "%2e%2e%2f",
    "%2E%2E%2F",
    ".%2e/",
    "%2e./",
    "..%5c",
    "..%5C..%5C",
    "%252e%252e%252f",
    "..%252f..%252f",
    "%25%32%65%25%32%65%25%32%66",
    "..%00",
    "%00",
    "..%00/x.zip",
    "x%00.zip",
    "%c0%ae%c0%ae/",
    "%c0%af",
    "%e0%80%ae%e0%80%ae/",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8f",
    "%e2%80%a5",
    "%e2%80%a4%e2%80%a4/",
    "....//",
    "...//",
    "..;/",
    ".../",
    "%2fetc%2fpasswd",
    "etc%2fpasswd",
    "%2f%2fetc%2fpasswd",
    "C:%5cWindows%5cwin.ini",
    "C:",
    "file:%2f%2f%2fetc%2fpasswd",
    "~",
    "~root",
    "%7eroot",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f",
    "..%c0%af..%c0%af",
    "x" * 256,
    "y" * 1200,
    "%2e",
    ".",
]


def _sentinel_payloads(absolute: Path) -> list[str]:
    """``../`` chains of every depth (raw and encoded) aimed at the sentinel, and its path."""
    found = []
    for depth in range(1, 9):
        for step in ("../", "..%2f", "%2e%2e%2f", "..%5c", "%252e%252e%252f"):
            found.append(step * depth + "outside%2fsentinel.txt")
    found.append(quote(str(absolute), safe=""))
    found.append(quote(str(absolute), safe="/"))
    return found


# -- HTML checks --------------------------------------------------------------------------------

_TAGS = {
    "html", "head", "meta", "title", "link", "body", "header", "span", "nav", "strong", "a",
    "main", "h1", "h2", "p", "section", "dl", "dt", "dd", "ul", "li", "table", "thead", "tbody",
    "tr", "td", "th", "form", "input", "textarea", "select", "option", "label", "button", "pre",
}  # fmt: skip
_ATTRIBUTES = {
    "lang", "charset", "name", "content", "rel", "href", "class", "aria-label", "method",
    "action", "enctype", "type", "value", "id", "for", "rows", "cols", "size", "selected",
    "autocomplete", "required",
}  # fmt: skip
_URL_ATTRIBUTES = ("href", "action", "src")
_HOSTILE_SCHEMES = ("javascript:", "vbscript:", "data:")


class _Markup(HTMLParser):
    """Every element and attribute of a page, to find any that the templates do not make."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name not in _ATTRIBUTES or name.startswith("on"):
                self.problems.append(f"attribute {name}= on <{tag}>")
            text = "".join((value or "").split()).lower()
            if name in _URL_ATTRIBUTES and text.startswith(_HOSTILE_SCHEMES):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def _json_inner(text: str) -> str:
    """``text`` as it is written inside a JSON string (how ``<pre>`` answers show it)."""
    return orjson.dumps(text).decode()[1:-1]


def assert_inert(page: httpx.Response, what: str) -> str:
    """The page is HTML with the security headers and only the templates' own markup."""
    assert page.headers["content-type"].startswith("text/html"), (what, page.text[:300])
    assert page.status_code < 500, (what, page.status_code)
    csp = page.headers["content-security-policy"]
    directives = dict((d.strip() + " ").split(" ", 1) for d in csp.split(";") if d.strip())
    scripts = directives.get("script-src", directives.get("default-src", ""))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, csp
    assert scripts.strip() in ("'none'", "'self'"), csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers.get("x-frame-options") == "DENY" or "frame-ancestors 'none'" in csp
    parser = _Markup()
    parser.feed(page.text)
    parser.close()
    assert parser.problems == [], (what, parser.problems)
    return page.text


def assert_shown_escaped(body: str, payload: str, what: str) -> None:
    """The payload is on the page, escaped: as text, or inside a JSON answer."""
    if any(c in payload for c in "<>\"'"):
        assert payload not in body, (what, payload)
    shown = str(escape(payload)), str(escape(_json_inner(payload)))
    assert any(s in body for s in shown), (what, payload)


# -- the planted site ---------------------------------------------------------------------------


@dataclass
class Planted:
    """The site, its token, and where each payload was put."""

    site: LiveSite
    token: str
    root: Path
    outside: Path
    share: Path
    uploads: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)

    def admin(self, method: str, path: str, **data: Any) -> dict[str, Any]:
        fields = {"f": "json", "token": self.token, **data}
        if method == "GET":
            answer = httpx.get(self.site.admin + path, params=fields, timeout=120)
        else:
            answer = httpx.post(self.site.admin + path, data=fields, timeout=120)
        return answer.json()  # type: ignore[no-any-return]

    def html(self, method: str, url: str, **data: Any) -> str:
        """A page (``f=html``, with the admin token), checked for markup and headers."""
        fields = {"f": "html", "token": self.token, **data}
        full = url if url.startswith("http") else self.site.admin + url
        if method == "GET":
            page = httpx.get(full, params=fields, timeout=60)
        else:
            page = httpx.post(full, data=fields, timeout=60)
        return assert_inert(page, f"{method} {url}")

    def once(self, key: str, method: str, url: str, **data: Any) -> str:
        if key not in self.pages:
            self.pages[key] = self.html(method, url, **data)
        return self.pages[key]


def _features(values: list[str]) -> bytes:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [i, i / 2]},
            "properties": {"label": value},
        }
        for i, value in enumerate(values)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _as_data(text: str) -> str:
    """Text as feature data keeps it: GDAL ends a string at a NUL."""
    return text.replace("\x00", "")


def _fingerprint(root: Path, skip: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` but outside ``skip``: its mode and a digest of its bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (info.st_mode, digest)
    return found


SENTINEL = b"GEOSITE-SENTINEL-7f3a"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    root = tmp_path_factory.mktemp("corpus")
    outside = root / "outside"
    outside.mkdir()
    (outside / "sentinel.txt").write_bytes(SENTINEL)
    (outside / "sentinel.geojson").write_bytes(_features(["GEOSITE-SENTINEL-7f3a"]))
    share = root / "share"
    share.mkdir()
    (share / "points.geojson").write_bytes(_features(["ok"]))
    # Many failed logins come from this address: raise the per-address limit.
    site = make_site(root / "site", lockout=LockoutPolicy(max_failures_per_address=100_000))
    try:
        yield _plant(site, root, outside, share)
    finally:
        site.stop()


def _plant(site: LiveSite, root: Path, outside: Path, share: Path) -> Planted:
    p = Planted(site, site.token(), root, outside, share)
    ok = {"status": "success"}
    data = root / "Hostile.geojson"
    data.write_bytes(_features([_as_data(x) for x in XSS]))
    answer = publish(site, p.token, data, "Hostile")
    assert answer["status"] == "success", answer
    assert p.admin("POST", "/services/createFolder", folderName="Keep") == ok
    assert publish(site, p.token, data, "Kept", "Keep")["status"] == "success"
    item = json.dumps({"path": "/fileShares/share", "type": "folder", "info": {"path": str(share)}})
    assert p.admin("POST", "/data/registerItem", item=item)["status"] == "success"

    everything = " | ".join(XSS)
    definition = p.admin("GET", "/services/Hostile.FeatureServer")
    definition["description"] = everything
    edited = p.admin("POST", "/services/Hostile.FeatureServer/edit", service=json.dumps(definition))
    assert edited == ok, edited
    info = {"title": XSS[0], "summary": everything, "description": everything, "tags": XSS}
    assert (
        p.admin(
            "POST",
            "/services/Hostile.FeatureServer/iteminfo/edit",
            serviceItemInfo=json.dumps(info),
        )
        == ok
    )
    for i, payload in enumerate(XSS):
        user = {"fullname": payload, "description": payload, "email": payload}
        added = p.admin("POST", "/security/users/add", username=f"xss{i}", password="Pa55-word!x")
        assert added == ok, added
        assert p.admin("POST", "/security/users/update", username=f"xss{i}", **user) == ok
        assert (
            p.admin("POST", "/security/roles/add", rolename=f"role{i}", description=payload) == ok
        )
        assert (
            p.admin("POST", "/services/createFolder", folderName=f"F{i}", description=payload) == ok
        )
        folder = share
        if "/" not in payload and "\x00" not in payload:
            folder = root / "named" / payload
            folder.mkdir(parents=True)
        named_item = {
            "path": f"/fileShares/x{i}",
            "type": "folder",
            "info": {"path": str(folder)},
            "clientPath": payload,
        }
        assert (
            p.admin("POST", "/data/registerItem", item=json.dumps(named_item))["status"]
            == "success"
        )
        uploaded = _upload(site, p.token, f"x{i}.geojson", b"{}", description=payload)
        assert uploaded["status"] == "success", uploaded
        p.uploads.append(uploaded["item"]["itemID"])
    return p


# -- XSS: stored values -------------------------------------------------------------------------

_REST = "/arcgis/rest/services/Hostile/FeatureServer"


@pytest.mark.parametrize("index", range(len(XSS)))
def test_stored_values_are_escaped(planted: Planted, index: int) -> None:
    p, payload = planted, XSS[index]
    rest = p.site.http + _REST
    shown = {
        # users: fullname, description, email
        "users": p.once("users", "POST", "/security/users/getUsers", pageSize="1000"),
        "user search": p.html("POST", "/security/users/search", filter=f"xss{index}"),
        # roles: description
        "roles": p.once("roles", "POST", "/security/roles/getRoles", pageSize="1000"),
        # folders: description, on the folder and in the root listing
        "folder": p.html("GET", f"/services/F{index}"),
        "folders": p.once("services", "GET", "/services"),
        # the service JSON's description, and its item info
        "service": p.once("service", "GET", "/services/Hostile.FeatureServer"),
        "iteminfo": p.once("iteminfo", "GET", "/services/Hostile.FeatureServer/iteminfo"),
        "rest service": p.once("rest", "GET", rest),
        # feature attributes in the query form's results
        "query": p.once("query", "GET", rest + "/0/query", where="1=1", outFields="*"),
        # data items: the client path (and the server folder, where it could be named so)
        "data item": p.html("GET", f"/data/items/fileShares/x{index}"),
        "data items": p.once("items", "GET", "/data/items/fileShares"),
        "find items": p.once("find", "POST", "/data/findItems", parentPath="/fileShares"),
        # uploads: the description
        "upload": p.html("GET", f"/uploads/{p.uploads[index]}"),
        "uploads": p.once("uploads", "GET", "/uploads"),
    }
    for what, body in shown.items():
        assert_shown_escaped(body, _as_data(payload) if what == "query" else payload, what)
    # Pages that list the same objects without showing the values must still be inert.
    p.once("users resource", "GET", "/security/users")
    p.once("roles resource", "GET", "/security/roles")
    p.once("layer", "GET", rest + "/0")
    p.once("edit form", "GET", "/services/Hostile.FeatureServer/edit")
    p.once("iteminfo form", "GET", "/services/Hostile.FeatureServer/iteminfo/edit")


# -- XSS: names the validators refuse -----------------------------------------------------------


def _refused(answer: dict[str, Any]) -> int:
    """The code of a clean admin error envelope (and nothing else in it)."""
    assert answer.get("status") == "error", answer
    assert set(answer) == {"status", "code", "messages"}, answer
    assert all(isinstance(m, str) for m in answer["messages"]), answer
    return int(answer["code"])


def test_hostile_names_are_refused_cleanly(planted: Planted) -> None:
    p = planted
    for payload in XSS:
        attempts = {
            "username": p.admin(
                "POST", "/security/users/add", username=payload, password="Pa55-word!x"
            ),
            "rolename": p.admin("POST", "/security/roles/add", rolename=payload),
            "folderName": p.admin("POST", "/services/createFolder", folderName=payload),
            "serviceName": p.admin(
                "POST",
                "/services/createService",
                service=json.dumps(
                    {"serviceName": payload, "type": "FeatureServer", "properties": {}}
                ),
            ),
            "serviceNewName": p.admin(
                "POST",
                "/services/renameService",
                serviceName="Hostile",
                serviceType="FeatureServer",
                serviceNewName=payload,
            ),
            "data item path": p.admin(
                "POST",
                "/data/registerItem",
                item=json.dumps(
                    {
                        "path": "/fileShares/" + payload,
                        "type": "folder",
                        "info": {"path": str(p.share)},
                    }
                ),
            ),
        }
        for what, answer in attempts.items():
            assert _refused(answer) == 400, (what, payload, answer)
    assert p.admin("GET", "/services/Hostile.FeatureServer")["serviceName"] == "Hostile"


# -- XSS: values reflected from the request -----------------------------------------------------


@pytest.mark.parametrize("index", range(len(XSS)))
def test_reflected_values_are_escaped(planted: Planted, index: int) -> None:
    p, payload = planted, XSS[index]
    rest = p.site.http + _REST
    named = quote(payload, safe="")
    reflected = {
        # an operation form prefilled from the query string
        "search form": p.html("GET", "/security/users/search", filter=payload),
        "find form": p.html("GET", "/data/findItems", parentPath=payload),
        # the query form prefilled with where, outFields, objectIds, geometry, and its error
        "query form": p.html(
            "GET",
            rest + "/0/query",
            where=payload,
            outFields=payload,
            objectIds=payload,
            geometry=payload,
            orderByFields=payload,
        ),
        # error pages that name what was asked for
        "admin folder": p.html("GET", "/services/" + named),
        "admin service": p.html("GET", f"/services/{named}.FeatureServer"),
        "rest folder": p.html("GET", f"{p.site.http}/arcgis/rest/services/{named}"),
        "rest layer": p.html("GET", f"{rest}/{named}"),
        "upload": p.html("GET", "/uploads/" + named),
        "data item": p.html("GET", "/data/items/fileShares/" + named),
        "operation answer": p.html("POST", "/security/users/add", username=payload),
    }
    for what, body in reflected.items():
        if what in ("search form", "find form", "query form"):
            assert_shown_escaped(body, payload, what)
    # The login form keeps the username it was given, and a same-site redirect target.
    login = httpx.post(
        p.site.admin + "/login",
        data={"username": payload, "password": "wrong-password", "redirect": "/arcgis/" + payload},
    )
    assert login.status_code == 401
    assert_shown_escaped(assert_inert(login, "login"), payload, "login")
    form = httpx.get(p.site.admin + "/login", params={"redirect": "/arcgis/admin/" + payload})
    assert_inert(form, "login form")


# -- XSS: log records ---------------------------------------------------------------------------


def test_logged_payloads_are_escaped(planted: Planted) -> None:
    """Requests whose log records carry the payloads; every log page is inert.

    ``logs/query`` lists the records (its page must hold them); the other pages under
    ``/admin/logs`` are checked too.
    """
    p = planted
    for payload in XSS:
        p.admin("POST", "/security/users/add", username=payload, password="Pa55-word!x")
        httpx.get(f"{p.site.admin}/services/{quote(payload, safe='')}", params={"f": "json"})
    p.site.flush_logs()
    messages = [r.message for r in p.site.log_store.query(limit=100_000)]
    for payload in XSS:
        assert any(payload in m for m in messages), payload  # the records hold the raw text
    for method, path in (("GET", "/logs"), ("GET", "/logs/settings"), ("POST", "/logs/query")):
        body = p.html(method, path, level="FINE", pageSize="10000", filter="{}")
        if path == "/logs/query":
            assert '<table class="records">' in body, body[:500]
        if path == "/logs/query" or "logMessages" in body:
            for payload in XSS:
                assert_shown_escaped(body, payload, path)


# -- path traversal -----------------------------------------------------------------------------


def _raw(site: LiveSite, method: str, target: str, token: str, body: str = "") -> dict[str, Any]:
    """Send ``target`` byte for byte (httpx would normalise the dot segments away)."""
    host = site.http.split("//", 1)[1]
    connection = http.client.HTTPConnection(host, timeout=60)
    try:
        headers = {"X-Esri-Authorization": f"Bearer {token}"}
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, target, body=body or None, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
    finally:
        connection.close()
    assert SENTINEL not in data, target
    assert answer.status < 500, (target, answer.status)
    return orjson.loads(data)  # type: ignore[no-any-return]


def _clean_error(answer: dict[str, Any], what: str) -> int:
    """The code of a clean admin or REST error envelope, which must be a 4xx."""
    assert "error" in answer or answer.get("status") == "error", (what, answer)
    if "error" in answer:
        error = answer["error"]
        assert set(error) <= {"code", "message", "details"}, (what, answer)
        code = int(error["code"])
    else:
        code = _refused(answer)
    assert 400 <= code < 500, (what, answer)
    return code


_URLS = [
    ("GET", "/arcgis/admin/services/{p}"),
    ("GET", "/arcgis/admin/services/{p}.FeatureServer"),
    ("GET", "/arcgis/admin/services/Keep/{p}.FeatureServer"),
    ("GET", "/arcgis/admin/services/{p}/Kept.FeatureServer"),
    ("GET", "/arcgis/admin/services/{p}.FeatureServer/iteminfo"),
    ("POST", "/arcgis/admin/services/{p}/deleteFolder"),
    ("POST", "/arcgis/admin/services/{p}.FeatureServer/delete"),
    ("POST", "/arcgis/admin/services/Keep/{p}.FeatureServer/delete"),
    ("GET", "/arcgis/rest/services/{p}"),
    ("GET", "/arcgis/rest/services/{p}/FeatureServer"),
    ("GET", "/arcgis/rest/services/Keep/{p}/FeatureServer"),
    ("GET", "/arcgis/rest/services/{p}/FeatureServer/0/query"),
    ("GET", "/arcgis/rest/services/Hostile/FeatureServer/{p}"),
    ("GET", "/arcgis/admin/uploads/{p}"),
    ("POST", "/arcgis/admin/uploads/{p}/delete"),
    ("GET", "/arcgis/admin/data/items/{p}"),
    ("GET", "/arcgis/admin/data/items/fileShares/{p}"),
    ("GET", "/arcgis/admin/machines/{p}"),
]


def _path_corpus(p: Planted) -> list[str]:
    return _FIXED_PATHS + _sentinel_payloads(p.outside / "sentinel.txt")


def test_path_corpus_is_large_enough(planted: Planted) -> None:
    assert len(_path_corpus(planted)) >= 50
    assert len(XSS) >= 30


def _site_intact(p: Planted) -> None:
    services = p.admin("GET", "/services")
    assert "Hostile" in {s["serviceName"] for s in services["services"]}
    assert "Keep" in services["folders"]
    assert p.admin("GET", "/services/Keep")["services"][0]["serviceName"] == "Kept"
    assert len(p.admin("GET", "/uploads")["items"]) >= len(p.uploads)
    assert (p.outside / "sentinel.txt").read_bytes() == SENTINEL


def test_traversal_in_urls(planted: Planted) -> None:
    p = planted
    before = _fingerprint(p.root, p.root / "site")
    for payload in _path_corpus(p):
        for method, template in _URLS:
            target = template.format(p=payload) + "?f=json"
            _clean_error(_raw(p.site, method, target, p.token), f"{method} {target}")
    _site_intact(p)
    assert _fingerprint(p.root, p.root / "site") == before


def _parameter_values(p: Planted) -> list[str]:
    values = []
    for payload in _path_corpus(p):
        for value in (payload, unquote(payload)):
            if value.strip("/") and value not in values:
                values.append(value)
    values.append(str(p.outside / "sentinel.geojson"))
    return values


def _published_from_inside(p: Planted) -> None:
    """A service published from a dataPath holds the registered folder's data; it goes."""
    query = f"{p.site.http}/arcgis/rest/services/T/FeatureServer/0/query"
    rows = httpx.get(query, params={"f": "json", "where": "1=1", "outFields": "*"}).json()
    assert [f["attributes"]["label"] for f in rows["features"]] == ["ok"], rows
    assert p.admin("POST", "/services/T.FeatureServer/delete") == {"status": "success"}


def test_traversal_in_parameters(planted: Planted) -> None:
    p = planted
    before = _fingerprint(p.root, p.root / "site")

    def service(**fields: Any) -> str:
        definition = {"serviceName": "T", "type": "FeatureServer", "capabilities": "Query"}
        return json.dumps({**definition, **fields})

    for value in _parameter_values(p):
        inside = f"/fileShares/share/{value}"
        attempts = {
            "folderName": ("/services/createFolder", {"folderName": value}),
            "createService serviceName": (
                "/services/createService",
                {"service": service(serviceName=value, properties={"itemID": "i0"})},
            ),
            "createService folderName": (
                "/services/createService",
                {"service": service(folderName=value, properties={"itemID": "i0"})},
            ),
            "createService itemID": (
                "/services/createService",
                {"service": service(properties={"itemID": value})},
            ),
            "createService dataPath": (
                "/services/createService",
                {"service": service(properties={"dataPath": value})},
            ),
            "createService dataPath inside": (
                "/services/createService",
                {"service": service(properties={"dataPath": inside})},
            ),
            "registerItem path": (
                "/data/registerItem",
                {
                    "item": json.dumps(
                        {"path": f"/fileShares/{value}", "info": {"path": str(p.share)}}
                    )
                },
            ),
            "unregisterItem": ("/data/unregisterItem", {"itempath": f"/fileShares/{value}"}),
            "editFolder": (f"/services/{quote(value, safe='')}/editFolder", {"description": "x"}),
            "upload delete": (f"/uploads/{quote(value, safe='')}/delete", {}),
        }
        for what, (path, data) in attempts.items():
            body = urlencode({"f": "json", **data})
            answer = _raw(p.site, "POST", "/arcgis/admin" + path, p.token, body)
            if what == "createService dataPath inside" and answer.get("status") == "success":
                _published_from_inside(p)  # e.g. "." names the registered folder itself
                continue
            _clean_error(answer, f"{what}: {value!r}")
        exists = _raw(
            p.site,
            "POST",
            "/arcgis/admin/services/exists",
            p.token,
            urlencode({"f": "json", "folderName": value}),
        )
        assert exists == {"exists": False} or _clean_error(exists, f"exists {value!r}")
    _site_intact(p)
    assert _fingerprint(p.root, p.root / "site") == before
    assert p.admin("GET", "/services").get("services") is not None
    assert all(s["serviceName"] != "T" for s in p.admin("GET", "/services")["services"])


def test_traversal_in_upload_file_names(planted: Planted) -> None:
    p = planted
    before = _fingerprint(p.root, p.root / "site")
    for value in _parameter_values(p):
        for name in (value, value + ".geojson", value + "/x.zip", "x.zip" + value):
            answer = _upload(p.site, p.token, name, b'{"type": "FeatureCollection"}')
            if answer.get("status") == "error":
                assert _clean_error(answer, name) == 400
                continue
            stored = Path(p.site.store.get_upload(answer["item"]["itemID"]).path).resolve()
            uploads = (p.root / "site").resolve()
            assert uploads in stored.parents, (name, stored)
            assert stored.parent.parent.name == "uploads", (name, stored)
            assert stored.name == answer["item"]["itemName"] and not stored.name.startswith(".")
            done = p.admin("POST", f"/uploads/{answer['item']['itemID']}/delete")
            assert done == {"status": "success"}
    _site_intact(p)
    assert _fingerprint(p.root, p.root / "site") == before


# -- archives: zip-slip and zip bombs through upload + publish ----------------------------------

_POINT = _features(["inside"])


def _zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def _declared_bomb(copies: int, declared: int) -> bytes:
    """One small member listed ``copies`` times, each claiming ``declared`` bytes, ratio 100.

    The central directory is written by hand: the entries overlap (the "better zip bomb"),
    so the archive stays tiny while the sizes it declares add up past the site's limit.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.geojson", b"\0" * 100_000)
    raw = buffer.getvalue()
    start = raw.rfind(b"PK\x01\x02")
    end = raw.rfind(b"PK\x05\x06")
    entry = bytearray(raw[start:end])
    entry[20:24] = struct.pack("<I", declared // 100)  # compressed size
    entry[24:28] = struct.pack("<I", declared)  # uncompressed size
    directory = bytes(entry) * copies
    eocd = bytearray(raw[end:])
    eocd[8:10] = eocd[10:12] = struct.pack("<H", copies)
    eocd[12:16] = struct.pack("<I", len(directory))
    return raw[:start] + directory + bytes(eocd)


def _archives(outside: Path) -> dict[str, bytes]:
    ratio_bomb = _zip({"zeros.geojson": b"\0" * 30_000_000})
    return {
        "parent member": _zip({"pts.geojson": _POINT, "../evil.geojson": _POINT}),
        "deep parent member": _zip({"pts.geojson": _POINT, "a/../../../../evil.geojson": _POINT}),
        "sentinel overwrite": _zip({"../" * 8 + "outside/sentinel.txt": b"overwritten"}),
        "absolute member": _zip({"pts.geojson": _POINT, str(outside / "evil.geojson"): _POINT}),
        "backslash member": _zip({"pts.geojson": _POINT, "..\\..\\evil.geojson": _POINT}),
        "drive member": _zip({"pts.geojson": _POINT, "C:/evil.geojson": _POINT}),
        "symlink member": _zip({"pts.geojson": _POINT}, {"link": str(outside)}),
        "symlink to a file": _zip({}, {"pts.geojson": str(outside / "sentinel.geojson")}),
        "symlink then write through": _zip({"link/evil.geojson": _POINT}, {"link": str(outside)}),
        "ratio bomb": ratio_bomb,
        "declared size bomb": _declared_bomb(40, 150_000_000),
        "nested zip bomb": _zip({"inner.zip": ratio_bomb}),
    }


_OUTSIDE = "points outside the archive"
_REASONS = {
    "parent member": _OUTSIDE,
    "deep parent member": _OUTSIDE,
    "sentinel overwrite": _OUTSIDE,
    "absolute member": _OUTSIDE,
    "backslash member": _OUTSIDE,
    "drive member": _OUTSIDE,
    "symlink member": "is a link",
    "symlink to a file": "is a link",
    "symlink then write through": "is a link",
    "ratio bomb": "compression ratio",
    "declared size bomb": "expands beyond the allowed size",
    "nested zip bomb": "No data found",  # the inner archive is never opened
}


@pytest.mark.parametrize("name", list(_REASONS))
def test_hostile_archives_are_refused(planted: Planted, name: str) -> None:
    p = planted
    content = _archives(p.outside)[name]
    assert len(content) < 1_000_000  # a small upload
    data_dir = p.root / "site"
    before = _fingerprint(p.root, data_dir)
    uploaded = _upload(p.site, p.token, "hostile.zip", content)
    assert uploaded["status"] == "success", uploaded
    definition = {
        "serviceName": "Slip",
        "type": "FeatureServer",
        "capabilities": "Query",
        "properties": {"itemID": uploaded["item"]["itemID"]},
    }
    answer = p.admin("POST", "/services/createService", service=json.dumps(definition))
    assert _clean_error(answer, name) == 400
    assert _REASONS[name] in answer["messages"][0], answer
    assert _fingerprint(p.root, data_dir) == before
    assert not any(data_dir.rglob("evil*")) and not any(data_dir.rglob(".import-*"))
    big = [f for f in data_dir.rglob("*") if f.is_file() and f.stat().st_size > 5_000_000]
    assert big == []
    assert p.admin("GET", "/services/Slip.FeatureServer")["code"] == 404


# -- regressions --------------------------------------------------------------------------------


def test_a_line_break_in_the_path_gets_an_envelope(planted: Planted) -> None:
    """Starlette's route pattern does not match ``%0A``; the app still answers with its own."""
    for url in ("/arcgis/admin/services/a%0Ab", "/arcgis/rest/services/a%0Ab", "/x%0Ay"):
        _clean_error(_raw(planted.site, "GET", url + "?f=json", planted.token), url)


def test_unknown_data_item_roots_are_not_found(planted: Planted) -> None:
    """``/data/items/<root>`` answers 404 for a root that is not one of ArcGIS's."""
    assert planted.admin("GET", "/data/items/nothing")["code"] == 404
    assert planted.admin("GET", "/data/items/FILESHARES")["items"]
