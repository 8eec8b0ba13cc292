"""``/arcgis/admin/uploads``: upload, list, describe, delete."""

from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveSite

DATA = Path(__file__).resolve().parents[2] / "geosite" / "demo" / "data"


def _upload(site: LiveSite, token: str, name: str, content: bytes, **data: str) -> dict:  # type: ignore[type-arg]
    return httpx.post(
        site.admin + "/uploads/upload",  # type: ignore[no-any-return]
        data={"f": "json", "token": token, **data},
        files={"itemFile": (name, content, "application/zip")},
    ).json()


def test_upload_list_describe_delete(fresh_site: LiveSite) -> None:
    token = fresh_site.token()
    content = (DATA / "naturalearth_cities.zip").read_bytes()
    answer = _upload(fresh_site, token, "naturalearth_cities.zip", content, description="cities")
    assert answer["status"] == "success"
    item = answer["item"]
    assert item["itemName"] == "naturalearth_cities.zip" and item["size"] == len(content)
    assert item["itemID"].startswith("i") and item["description"] == "cities"
    listed = httpx.get(fresh_site.admin + "/uploads", params={"f": "json", "token": token}).json()
    assert [i["itemID"] for i in listed["items"]] == [item["itemID"]]
    one = httpx.get(
        fresh_site.admin + f"/uploads/{item['itemID']}", params={"f": "json", "token": token}
    ).json()
    assert one == item
    stored = Path(fresh_site.store.get_upload(item["itemID"]).path)
    assert stored.read_bytes() == content
    done = httpx.post(
        fresh_site.admin + f"/uploads/{item['itemID']}/delete", data={"f": "json", "token": token}
    ).json()
    assert done == {"status": "success"}
    assert not stored.exists()
    gone = httpx.get(
        fresh_site.admin + f"/uploads/{item['itemID']}", params={"f": "json", "token": token}
    ).json()
    assert gone["code"] == 404


def test_upload_refusals(site: LiveSite, admin_token: str) -> None:
    assert _upload(site, admin_token, "run.exe", b"MZ")["code"] == 400
    missing = httpx.post(site.admin + "/uploads/upload", data={"f": "json", "token": admin_token})
    assert missing.json()["code"] == 400
    anonymous = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json"},
        files={"itemFile": ("a.zip", b"PK", "application/zip")},
    )
    assert anonymous.json()["code"] == 499


def test_upload_size_limit(tmp_path: Path) -> None:
    import dataclasses

    from tests.conftest import make_site

    live = make_site(tmp_path / "s")
    live.stop()
    small = dataclasses.replace(live.settings, max_upload_bytes=1000)
    limited = LiveSite(live.data_dir, live.clock, small).start()
    try:
        token = limited.token()
        answer = _upload(limited, token, "big.zip", b"x" * 5000)
        assert answer["status"] == "error" and answer["code"] == 400
        assert limited.store.list_uploads() == []
    finally:
        limited.stop()


@pytest.mark.parametrize("name", ["../../evil.zip", "..\\evil.zip"])
def test_upload_names_cannot_escape(site: LiveSite, admin_token: str, name: str) -> None:
    answer = _upload(site, admin_token, name, b"PK\x05\x06" + b"\0" * 18)
    stored = Path(site.store.get_upload(answer["item"]["itemID"]).path)
    assert stored.name == "evil.zip" and stored.parent.parent.name == "uploads"
