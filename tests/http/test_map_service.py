"""MapServer services (services-api §5): publishing, resources, export, identify, find, legend."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import httpx
import mapnik
import pytest

from geosite.core import map_output
from tests.conftest import LiveSite
from tests.http.test_publishing import publish

REFERENCES = Path(__file__).parent / "map_references"
ARTIFACTS = (
    Path(os.environ.get("GEOSITE_TEST_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
    / "map_references"
)
#: A pixel differs when a channel differs by more than this; an image matches its reference
#: when at most ``TOLERANCE`` of its pixels differ (antialiasing across Mapnik builds).
THRESHOLD, TOLERANCE = 24, 0.005

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def mapped(site: LiveSite, admin_token: str) -> LiveSite:
    for path, name in (
        (DATA_DIR / "naturalearth_lowres.zip", "Countries"),
        (DATA_DIR / "naturalearth_cities.zip", "Cities"),
        (DATA_DIR / "nybb_16a.zip", "Boroughs"),
    ):
        answer = publish(site, admin_token, path, name, kind="MapServer")
        assert answer.get("status") == "success", answer
    return site


def rest(site: LiveSite) -> str:
    return site.http + site.settings.context_path + "/rest/services"


def edit(site: LiveSite, token: str, service: str, changes: dict[str, object]) -> httpx.Response:
    """``services/<service>/edit`` with the properties ``changes``."""
    return httpx.post(
        f"{site.admin}/services/{service}/edit",
        data={"f": "json", "token": token, "service": json.dumps(changes)},
    )


def export(site: LiveSite, service: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{rest(site)}/{service}/MapServer/export", params={"f": "image", **params}, timeout=60
    )


def image_of(response: httpx.Response) -> mapnik.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/"), response.text[:300]
    return mapnik.Image.from_string(response.content)


def painted(image: mapnik.Image) -> int:
    """Pixels that are neither transparent nor white."""
    blank = mapnik.Image(image.width(), image.height())
    blank.fill(mapnik.Color("white"))
    clear = mapnik.Image(image.width(), image.height())
    return int(min(image.compare(blank, THRESHOLD), image.compare(clear, THRESHOLD)))


def alpha(image: mapnik.Image, x: int, y: int) -> int:
    """The alpha of a pixel (Mapnik packs RGBA little-endian into an integer)."""
    return (int(image.get_pixel(x, y)) >> 24) & 255


def matches_reference(image: mapnik.Image, name: str) -> None:
    """The image looks like ``map_references/<name>.png`` (written with
    GEOSITE_UPDATE_REFERENCES=1, after looking at the picture)."""
    path = REFERENCES / f"{name}.png"
    if os.environ.get("GEOSITE_UPDATE_REFERENCES") == "1":
        REFERENCES.mkdir(exist_ok=True)
        image.save(str(path), "png32")
    reference = mapnik.Image.open(str(path))
    assert (image.width(), image.height()) == (reference.width(), reference.height())
    differing = image.compare(reference, THRESHOLD)
    if differing > TOLERANCE * image.width() * image.height():  # kept to look at
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        image.save(str(ARTIFACTS / f"{name}.actual.png"), "png32")
    assert differing <= TOLERANCE * image.width() * image.height(), (name, differing)


# The extents each picture shows, and in which spatial reference it is drawn.
PICTURES = {
    "countries_4326": ("Countries", "-180,-90,180,90", "4326", "4326", "512,256"),
    "countries_3857": (
        "Countries",
        "-20037508,-15000000,20037508,18000000",
        "3857",
        "3857",
        "400,330",
    ),
    "europe_3857": ("Countries", "-15,34,35,62", "4326", "3857", "400,300"),
    "boroughs_2263": ("Boroughs", "-74.27,40.49,-73.69,40.92", "4326", "2263", "400,400"),
    "cities_4326": ("Cities", "-20,30,40,65", "4326", "4326", "480,280"),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_match_their_references(mapped: LiveSite, name: str) -> None:
    service, bbox, bbox_sr, image_sr, size = PICTURES[name]
    answer = export(mapped, service, bbox=bbox, bboxSR=bbox_sr, imageSR=image_sr, size=size)
    image = image_of(answer)
    assert painted(image) > 500
    matches_reference(image, name)


def test_a_style_change_alters_the_picture(mapped: LiveSite, admin_token: str) -> None:
    """The reference test would catch it: a renderer edited through the admin API takes effect
    on the next image, and the picture no longer matches."""
    url = mapped.admin + "/services/Cities.MapServer"
    drawing = httpx.get(url, params={"f": "json", "token": admin_token}).json()["drawingInfo"]["0"]
    changed = json.loads(json.dumps(drawing))
    changed["renderer"]["symbol"].update(color=[20, 40, 200, 255], style="esriSMSSquare", size=9)
    answer = edit(mapped, admin_token, "Cities.MapServer", {"drawingInfo": {"0": changed}})
    assert answer.json().get("status") == "success", answer.text
    try:
        _, bbox, bbox_sr, image_sr, size = PICTURES["cities_4326"]
        image = image_of(
            export(mapped, "Cities", bbox=bbox, bboxSR=bbox_sr, imageSR=image_sr, size=size)
        )
        reference = mapnik.Image.open(str(REFERENCES / "cities_4326.png"))
        assert image.compare(reference, THRESHOLD) > TOLERANCE * image.width() * image.height()
        shown = httpx.get(url, params={"f": "json", "token": admin_token}).json()
        assert shown["drawingInfo"]["0"]["renderer"]["symbol"]["style"] == "esriSMSSquare"
    finally:
        edit(mapped, admin_token, "Cities.MapServer", {"drawingInfo": {"0": drawing}})


def test_root_and_layers(mapped: LiveSite) -> None:
    root = httpx.get(rest(mapped) + "/Countries/MapServer", params={"f": "json"}).json()
    assert root["capabilities"] == "Map,Query,Data"
    assert root["supportedImageFormatTypes"].startswith("PNG32,")
    assert (root["maxImageWidth"], root["maxImageHeight"]) == (4096, 4096)
    assert root["spatialReference"]["wkid"] == 4326
    assert root["units"] == "esriDecimalDegrees"
    assert [(layer["id"], layer["type"]) for layer in root["layers"]] == [(0, "Feature Layer")]
    assert root["singleFusedMapCache"] is False
    for key in ("initialExtent", "fullExtent"):
        assert root[key]["xmin"] == pytest.approx(-180)
    layers = httpx.get(rest(mapped) + "/Countries/MapServer/layers", params={"f": "json"}).json()
    layer = layers["layers"][0]
    assert layer["capabilities"] == "Map,Query,Data"
    assert layer["drawingInfo"]["renderer"]["type"] == "simple"
    assert layer == httpx.get(rest(mapped) + "/Countries/MapServer/0", params={"f": "json"}).json()
    page = httpx.get(rest(mapped) + "/Countries/MapServer", params={"f": "html"})
    assert page.status_code == 200 and "legend" in page.text
    catalog = httpx.get(rest(mapped), params={"f": "json"}).json()
    assert {"name": "Countries", "type": "MapServer"} in catalog["services"]


def test_layer_query_is_the_feature_query(mapped: LiveSite) -> None:
    answer = httpx.get(
        rest(mapped) + "/Countries/MapServer/0/query",
        params={"f": "json", "where": "continent = 'Oceania'", "returnCountOnly": "true"},
    ).json()
    assert answer["count"] > 5
    # ``text``: the display field (name) holds it, with the where clause.
    found = httpx.get(
        rest(mapped) + "/Countries/MapServer/0/query",
        params={"f": "json", "text": "Fran", "where": "continent = 'Europe'", "outFields": "name"},
    ).json()
    assert [f["attributes"]["name"] for f in found["features"]] == ["France"]
    none = httpx.get(
        rest(mapped) + "/Countries/MapServer/0/query",
        params={"f": "json", "text": "%'; DROP TABLE x; --", "returnCountOnly": "true"},
    ).json()
    assert none["count"] == 0


def test_export_json_gives_a_short_lived_href(mapped: LiveSite) -> None:
    answer = httpx.get(
        rest(mapped) + "/Countries/MapServer/export",
        params={"f": "json", "bbox": "-10,40,10,50", "bboxSR": "4326", "size": "400,400"},
    ).json()
    # A 20 x 10 degree box on a square image: widened to keep pixels square.
    extent = answer["extent"]
    assert (extent["xmin"], extent["xmax"]) == (-10, 10)
    assert (extent["ymin"], extent["ymax"]) == (35, 55)
    assert (answer["width"], answer["height"]) == (400, 400)
    assert answer["scale"] == pytest.approx(20 * 111319.49 / (400 / 96 * 0.0254), rel=1e-3)
    assert "/rest/directories/arcgisoutput/Countries_MapServer/_ags_map" in answer["href"]
    fetched = httpx.get(answer["href"])
    assert fetched.headers["content-type"] == "image/png"
    assert painted(image_of(fetched)) > 1000
    folder = Path(mapped.data_dir) / "directories" / "arcgisoutput" / "Countries_MapServer"
    files = list(folder.glob("_ags_map*.png"))
    assert files
    old = time.time() - 3600
    for path in files:
        os.utime(path, (old, old))
    assert map_output.sweep(folder.parent, time.time() - map_output.LIFETIME_S) == len(files)
    assert httpx.get(answer["href"]).status_code == 404


def test_formats_and_transparency(mapped: LiveSite) -> None:
    box = {"bbox": "-10,40,10,50", "bboxSR": "4326", "size": "200,100"}
    for fmt, kind in (("png", "image/png"), ("png8", "image/png"), ("png32", "image/png"),
                      ("png24", "image/png"), ("jpg", "image/jpeg")):  # fmt: skip
        answer = export(mapped, "Countries", format=fmt, **box)
        assert answer.headers["content-type"] == kind, fmt
        assert (image_of(answer).width(), image_of(answer).height()) == (200, 100)
    clear = image_of(export(mapped, "Countries", transparent="true", **box))
    assert alpha(clear, 0, 0) == 0
    assert alpha(image_of(export(mapped, "Countries", **box)), 0, 0) == 255


def test_layers_and_layer_definitions(mapped: LiveSite) -> None:
    box = {"bbox": "-10,40,10,55", "bboxSR": "4326", "size": "300,225"}
    everything = painted(image_of(export(mapped, "Countries", **box)))
    assert painted(image_of(export(mapped, "Countries", layers="hide:0", **box))) == 0
    assert painted(image_of(export(mapped, "Countries", layers="show:0", **box))) == everything
    france = painted(
        image_of(export(mapped, "Countries", layerDefs=json.dumps({"0": "name = 'France'"}), **box))
    )
    legacy = painted(image_of(export(mapped, "Countries", layerDefs="0:name = 'France'", **box)))
    assert 0 < france < everything / 2
    assert legacy == france


BAD_EXPORTS = [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "0,0,0,0"}, "bbox"),
    ({"bbox": "nan,0,1,1"}, "bbox"),
    ({"bbox": "-1e300,-1e300,1e300,1e300"}, "bbox"),
    ({"size": "0,0"}, "size"),
    ({"size": "5000,10"}, "size"),
    ({"size": "100000000,100000000"}, "size"),
    ({"size": "-1,5"}, "size"),
    ({"size": "abc"}, "size"),
    ({"dpi": "0"}, "dpi"),
    ({"dpi": "-5"}, "dpi"),
    ({"dpi": "1e9"}, "dpi"),
    ({"format": "pdf"}, "format"),
    ({"layers": "show:99"}, "layers"),
    ({"layers": "everything"}, "layers"),
    ({"layerDefs": '{"0": "nosuchfield = 1"}'}, "nosuchfield"),
    ({"layerDefs": '{"0": "1=1; DROP TABLE x"}'}, "where"),
    ({"layerDefs": '{"7": "1=1"}'}, "layerDefs"),
    ({"imageSR": "999999"}, "imageSR"),
    ({"bboxSR": "garbage"}, "bboxSR"),
    ({"transparent": "perhaps"}, "transparent"),
]


@pytest.mark.parametrize(("changes", "named"), BAD_EXPORTS)
@pytest.mark.parametrize("fmt", ["image", "json"])
def test_bad_exports_get_the_error_envelope(
    mapped: LiveSite, changes: dict[str, str], named: str, fmt: str
) -> None:
    params = {"bbox": "-10,40,10,50", "bboxSR": "4326", "size": "100,100", "f": fmt, **changes}
    answer = httpx.get(rest(mapped) + "/Countries/MapServer/export", params=params, timeout=60)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == 400
    assert named.lower() in json.dumps(error).lower()


def test_a_view_of_many_worlds_is_drawn(mapped: LiveSite) -> None:
    """esri-leaflet zoomed out on a wide screen asks for about ten worlds of Web Mercator (and
    a geographic map for several turns): the map is drawn where the data is, the rest left
    empty, as ArcGIS does; only a box beyond sixteen times the accepted coordinates is refused."""
    wide = export(mapped, "Countries", bbox="-200375083,-60000000,200375083,60000000",
                  bboxSR="3857", imageSR="3857", size="2560,768", transparent="true")  # fmt: skip
    assert wide.status_code == 200 and wide.headers["content-type"] == "image/png", wide.text
    picture = image_of(wide)
    assert (picture.width(), picture.height()) == (2560, 768)
    assert 0 < painted(picture) < 2560 * 768 / 5  # one world drawn among ten
    turns = export(mapped, "Countries", bbox="-1800,-90,1800,90", bboxSR="4326", size="1000,50")
    assert turns.status_code == 200 and turns.headers["content-type"] == "image/png", turns.text
    too_far = export(mapped, "Countries", bbox="-2e9,-1,2e9,1", bboxSR="3857", size="100,100")
    assert too_far.json()["error"]["code"] == 400
    # Drawn in another spatial reference, the box would be cut to its area: still refused.
    moved = export(mapped, "Countries", bbox="-2000,-80,2000,80", bboxSR="4326", imageSR="3857",
                   size="100,100")  # fmt: skip
    assert moved.json()["error"]["code"] == 400


def test_identify_at_a_city_returns_it(mapped: LiveSite) -> None:
    answer = httpx.get(
        rest(mapped) + "/Cities/MapServer/identify",
        params={
            "f": "json",
            "geometry": json.dumps({"x": 2.3522, "y": 48.8566, "spatialReference": {"wkid": 4326}}),
            "geometryType": "esriGeometryPoint",
            "sr": "4326",
            "tolerance": "3",
            "mapExtent": "-10,40,10,60",
            "imageDisplay": "400,400,96",
            "layers": "all",
        },
    ).json()
    names = [r["value"] for r in answer["results"]]
    assert names == ["Paris"]
    result = answer["results"][0]
    assert result["layerId"] == 0 and result["displayFieldName"] == "name"
    assert result["geometry"]["spatialReference"]["wkid"] == 4326
    assert any(key.upper() == "OBJECTID" for key in result["attributes"])
    assert all(isinstance(v, str) for v in result["attributes"].values())
    raw = httpx.get(
        rest(mapped) + "/Cities/MapServer/identify",
        params={
            "f": "json", "geometry": "2.3522,48.8566", "sr": "4326", "tolerance": "3",
            "mapExtent": "-10,40,10,60", "imageDisplay": "400,400,96", "layers": "top",
            "returnFieldName": "true", "returnUnformattedValues": "true", "returnGeometry": "false",
        },
    ).json()  # fmt: skip
    assert isinstance(raw["results"][0]["attributes"]["OBJECTID"], int)
    assert "geometry" not in raw["results"][0]
    far = httpx.get(
        rest(mapped) + "/Cities/MapServer/identify",
        params={"f": "json", "geometry": "-30,-40", "sr": "4326", "tolerance": "3",
                "mapExtent": "-35,-45,-25,-35", "imageDisplay": "400,400,96"},
    ).json()  # fmt: skip
    assert far["results"] == []


def test_identify_a_polygon_in_the_map_projection(mapped: LiveSite) -> None:
    # Paris in Web Mercator, asked in 3857: the answer is in 3857 too.
    answer = httpx.get(
        rest(mapped) + "/Countries/MapServer/identify",
        params={"f": "json", "geometry": "261845,6250566", "sr": "3857", "tolerance": "1",
                "mapExtent": "-1000000,5000000,1000000,7000000", "imageDisplay": "400,400,96",
                "layers": "visible:0", "returnGeometry": "true"},
    ).json()  # fmt: skip
    assert [r["value"] for r in answer["results"]] == ["France"]
    assert answer["results"][0]["geometry"]["spatialReference"]["latestWkid"] == 3857
    assert abs(answer["results"][0]["geometry"]["rings"][0][0][0]) > 1000


def test_find_a_country_by_name(mapped: LiveSite) -> None:
    answer = httpx.get(
        rest(mapped) + "/Countries/MapServer/find",
        params={"f": "json", "searchText": "france", "layers": "0", "sr": "4326"},
    ).json()
    assert [(r["value"], r["foundFieldName"]) for r in answer["results"]] == [("France", "name")]
    assert answer["results"][0]["geometry"]["rings"]
    exact = httpx.get(
        rest(mapped) + "/Countries/MapServer/find",
        params={"f": "json", "searchText": "Fra", "contains": "false", "layers": "0"},
    ).json()
    assert exact["results"] == []
    # LIKE's wildcards in a search text are only text.
    wild = httpx.get(
        rest(mapped) + "/Countries/MapServer/find",
        params={"f": "json", "searchText": "%", "layers": "0", "searchFields": "name"},
    ).json()
    assert wild["results"] == []
    # A number field equals a text that is its number; any other text finds nothing there.
    exact = {"f": "json", "layers": "0", "searchFields": "pop_est", "contains": "false"}
    people = httpx.get(
        rest(mapped) + "/Countries/MapServer/find", params={**exact, "searchText": "67059887"}
    ).json()
    assert [(r["value"], r["attributes"]["name"]) for r in people["results"]] == [
        ("67059887", "France")
    ]
    words = httpx.get(
        rest(mapped) + "/Countries/MapServer/find", params={**exact, "searchText": "many"}
    ).json()
    assert words["results"] == []
    within = httpx.get(
        rest(mapped) + "/Countries/MapServer/find",
        params={**exact, "contains": "true", "searchText": "6705988"},
    ).json()
    assert [r["attributes"]["name"] for r in within["results"]] == ["France"]
    bad_searches: list[dict[str, str]] = [
        {"searchText": ""},
        {"searchText": "x", "layers": ""},
        {"searchText": "x", "layers": "9"},
        {"searchText": "x" * 2000, "layers": "0"},
    ]
    for bad in bad_searches:
        error = httpx.get(rest(mapped) + "/Countries/MapServer/find", params={"f": "json", **bad})
        assert error.json()["error"]["code"] == 400, bad


def test_legend_swatches(mapped: LiveSite) -> None:
    answer = httpx.get(rest(mapped) + "/Countries/MapServer/legend", params={"f": "json"}).json()
    (layer,) = answer["layers"]
    assert layer["layerName"] and layer["layerType"] == "Feature Layer"
    (entry,) = layer["legend"]
    data = base64.b64decode(entry["imageData"])
    swatch = mapnik.Image.from_string(data)
    assert (swatch.width(), swatch.height()) == (entry["width"], entry["height"]) == (20, 20)
    assert painted(swatch) > 100
    image = httpx.get(rest(mapped) + f"/Countries/MapServer/0/images/{entry['url']}")
    assert image.headers["content-type"] == "image/png" and image.content == data
    bad = httpx.get(
        rest(mapped) + "/Countries/MapServer/legend", params={"f": "json", "size": "999,1"}
    )
    assert bad.json()["error"]["code"] == 400


def _fill(style: str, *color: int) -> dict[str, object]:
    return {"type": "esriSFS", "style": style, "color": list(color)}


UNIQUE = {
    "renderer": {
        "type": "uniqueValue",
        "field1": "continent",
        "uniqueValueInfos": [
            {"value": "Europe", "label": "Europe", "symbol": _fill("esriSFSSolid", 0, 90, 200)},
            {
                "value": "Africa",
                "label": "Africa",
                "symbol": _fill("esriSFSDiagonalCross", 200, 30, 30),
            },
        ],
        "defaultSymbol": {
            **_fill("esriSFSSolid", 200, 200, 200),
            "outline": {"type": "esriSLS", "style": "esriSLSDash", "color": [0, 0, 0], "width": 1},
        },
        "defaultLabel": "Other",
    },
    "transparency": 20,
}


LABELS = {"labelExpression": "[name]", "symbol": {"type": "esriTS", "font": {"size": 8}}}


def test_unique_values_labels_and_their_legend(mapped: LiveSite, admin_token: str) -> None:
    url = mapped.admin + "/services/Countries.MapServer"
    before = httpx.get(url, params={"f": "json", "token": admin_token}).json()["drawingInfo"]
    box = {"bbox": "-20,30,40,60", "bboxSR": "4326", "size": "480,240"}
    plain = image_of(export(mapped, "Countries", **box))
    changed = edit(mapped, admin_token, "Countries.MapServer", {"drawingInfo": {"0": UNIQUE}})
    assert changed.json().get("status") == "success", changed.text
    try:
        styled = image_of(export(mapped, "Countries", **box))
        assert styled.compare(plain, THRESHOLD) > 0.2 * 480 * 240
        matches_reference(styled, "countries_unique_values")
        # Labels: where each goes depends on the order features come in (the backend's
        # index), so they are checked apart from the reference picture.
        labelled = {**UNIQUE, "labelingInfo": [LABELS]}
        edit(mapped, admin_token, "Countries.MapServer", {"drawingInfo": {"0": labelled}})
        with_labels = image_of(export(mapped, "Countries", **box))
        black = mapnik.Image(480, 240)
        black.fill(mapnik.Color("black"))
        assert black.compare(with_labels, 60) < black.compare(styled, 60) - 1000
        legend = httpx.get(
            rest(mapped) + "/Countries/MapServer/legend", params={"f": "json"}
        ).json()
        entries = legend["layers"][0]["legend"]
        assert [e["label"] for e in entries] == ["Europe", "Africa", "Other"]
        assert entries[0]["values"] == ["Europe"]
        assert len({e["url"] for e in entries}) == 3
        layer = httpx.get(rest(mapped) + "/Countries/MapServer/0", params={"f": "json"}).json()
        assert layer["hasLabels"] is True
        assert layer["drawingInfo"]["transparency"] == 20
    finally:
        edit(mapped, admin_token, "Countries.MapServer", {"drawingInfo": before})


BAD_DRAWINGS = [
    {"renderer": {"type": "uniqueValue", "field1": "nosuchfield", "uniqueValueInfos": []}},
    {"renderer": {"type": "classBreaks", "field": "name", "classBreakInfos": []}},
    {"renderer": {"type": "simple", "symbol": {"type": "esriSMS", "style": "esriSMSCircle"}}},
    {"renderer": {"type": "simple", "symbol": {"type": "esriSFS", "color": [1, 2]}}},
    {"renderer": {"type": "simple", "symbol": {"type": "esriSFS", "color": [1, 2, 3, 999]}}},
    {"renderer": {"type": "heatmap"}},
    {
        "renderer": {
            "type": "uniqueValue",
            "field1": "pop_est",
            "uniqueValueInfos": [
                {"value": "many", "symbol": {"type": "esriSFS", "color": [1, 2, 3]}}
            ],
        }
    },
    {"transparency": 150},
    {"labelingInfo": [{"labelExpression": "[name] + 'x'"}]},
    "not an object",
]


@pytest.mark.parametrize("drawing", BAD_DRAWINGS)
def test_bad_drawing_info_is_refused_and_nothing_changes(
    mapped: LiveSite, admin_token: str, drawing: object
) -> None:
    url = mapped.admin + "/services/Countries.MapServer"
    before = httpx.get(url, params={"f": "json", "token": admin_token}).json()
    answer = edit(mapped, admin_token, "Countries.MapServer", {"drawingInfo": {"0": drawing}})
    assert answer.json()["status"] == "error", answer.text
    assert "drawinginfo" in answer.text.lower()
    assert httpx.get(url, params={"f": "json", "token": admin_token}).json() == before


def test_drawing_info_only_on_map_services(site: LiveSite, admin_token: str) -> None:
    assert (
        publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "Plain")["status"]
        == "success"
    )
    answer = edit(site, admin_token, "Plain.FeatureServer", {"drawingInfo": {"0": {}}})
    assert "map services" in answer.text


def test_capabilities_and_state_are_obeyed(site: LiveSite, admin_token: str) -> None:
    answer = publish(site, admin_token, DATA_DIR / "naturalearth_cities.zip", "OnlyMap",
                     kind="MapServer")  # fmt: skip
    assert answer["status"] == "success"
    url = site.admin + "/services/OnlyMap.MapServer"
    changed = edit(site, admin_token, "OnlyMap.MapServer", {"capabilities": "Map"})
    assert changed.json()["status"] == "success", changed.text
    refused = httpx.get(
        rest(site) + "/OnlyMap/MapServer/find",
        params={"f": "json", "searchText": "Paris", "layers": "0"},
    ).json()
    assert refused["error"]["code"] == 400
    assert image_of(export(site, "OnlyMap", bbox="-10,40,10,50", bboxSR="4326"))
    bad = edit(site, admin_token, "OnlyMap.MapServer", {"capabilities": "Map,Editing"})
    assert bad.json()["status"] == "error"
    httpx.post(url + "/stop", data={"f": "json", "token": admin_token})
    stopped = export(site, "OnlyMap", bbox="-10,40,10,50", bboxSR="4326")
    assert stopped.headers["content-type"].startswith("application/json")
    assert "error" in stopped.json()


def test_polygons_across_the_antimeridian_of_the_image_are_not_smeared(
    site: LiveSite, admin_token: str, tmp_path: Path
) -> None:
    """In a projection centred on 150°E (EPSG:3832) the image wraps at 30°W: a box from 40°W
    to 20°W is drawn in two pieces at the image's two edges, not as a band across it."""
    box = [[-40, 10], [-20, 10], [-20, 20], [-40, 20], [-40, 10]]
    path = tmp_path / "seam.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "across"},
                        "geometry": {"type": "Polygon", "coordinates": [box]},
                    }
                ],
            }
        )
    )
    assert publish(site, admin_token, path, "Seam", kind="MapServer")["status"] == "success"
    answer = export(site, "Seam", bbox="-180,-60,180,60", bboxSR="4326", imageSR="3832",
                    size="720,240", transparent="true")  # fmt: skip
    image = image_of(answer)
    row = image.height() // 2 - 25  # about 15°N
    painted_columns = [x for x in range(image.width()) if alpha(image, x, row) > 0]
    assert painted_columns, "the box is drawn"
    width = image.width()
    middle = [x for x in painted_columns if 0.2 * width < x < 0.8 * width]
    assert middle == [], "no band across the image"
    assert min(painted_columns) < 0.15 * width and max(painted_columns) > 0.85 * width
