"""A token stands for one user, once: it names the user's random identifier and credential
version, so a removed user's token never fits a user made again under the same name (in any
case), and removing a user, changing its password or its roles, or disabling it ends every
token issued before. Each is checked over HTTP with the token in the ``token`` parameter, the
``X-Esri-Authorization: Bearer`` header and the login cookie."""

from __future__ import annotations

import itertools
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.errors import REVOKED_TOKEN
from tests.conftest import LiveSite

PASSWORD = "Alice-Passw0rd-1"
WAYS = ("token", "header", "cookie")
REFUSED = {"status": "error", "code": 498, "messages": [REVOKED_TOKEN]}
_names = itertools.count(1)


def _get(site: LiveSite, path: str, token: str, way: str) -> dict[str, Any]:
    """``GET /arcgis/admin{path}`` with the token sent one way."""
    params = {"f": "json"}
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if way == "token":
        params["token"] = token
    elif way == "header":
        headers["X-Esri-Authorization"] = f"Bearer {token}"
    else:
        cookies["AGS_ADMIN_TOKEN"] = token
    with httpx.Client(cookies=cookies) as client:
        answer = client.get(site.admin + path, params=params, headers=headers)
    return answer.json()  # type: ignore[no-any-return]


_ADMIN_TOKENS: dict[int, tuple[LiveSite, str]] = {}  # the site is kept: its id stays its own


def _admin(site: LiveSite, path: str, **data: str) -> None:
    if id(site) not in _ADMIN_TOKENS:
        _ADMIN_TOKENS[id(site)] = (site, site.token())
    token = _ADMIN_TOKENS[id(site)][1]
    answer = httpx.post(site.admin + path, data={"f": "json", "token": token, **data}).json()
    assert answer == {"status": "success"}, (path, answer)


def _publisher(site: LiveSite, username: str, role: str) -> None:
    """A user with the PUBLISH privilege through ``role`` (made if missing)."""
    _admin(site, "/security/users/add", username=username, password=PASSWORD)
    found = httpx.post(
        site.admin + "/security/roles/getPrivilege",
        data={"f": "json", "token": site.token(), "rolename": role},
    ).json()
    if "privilege" not in found:
        _admin(site, "/security/roles/add", rolename=role)
        _admin(site, "/security/roles/assignPrivilege", rolename=role, privilege="PUBLISH")
    _admin(site, "/security/roles/addUsersToRole", rolename=role, users=username)


def _upload(site: LiveSite, token: str, name: str) -> str:
    answer = httpx.post(
        site.admin + "/uploads/upload",
        data={"f": "json", "token": token},
        files={"itemFile": (name, b'{"type": "FeatureCollection", "features": []}')},
    ).json()
    return str(answer["item"]["itemID"])


def _works(site: LiveSite, token: str) -> bool:
    return all("items" in _get(site, "/uploads", token, way) for way in WAYS)


def _refused_every_way(site: LiveSite, token: str, path: str = "/uploads") -> None:
    for way in WAYS:
        assert _get(site, path, token, way) == REFUSED, way


# Each event: the calls that do it to user {u}, a member of the PUBLISH role {p} and of the
# ACCESS role {a}; the user's tokens from before must end.
PASSWORD_2 = "Another-Passw0rd-2"
EVENTS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "users/remove": [("/security/users/remove", {"username": "{u}"})],
    "users/changePassword": [
        ("/security/users/changePassword", {"username": "{u}", "password": PASSWORD_2})
    ],
    "users/update with a password": [
        ("/security/users/update", {"username": "{u}", "password": PASSWORD_2})
    ],
    "roles/addUsersToRole": [
        ("/security/roles/add", {"rolename": "{a}x"}),
        ("/security/roles/addUsersToRole", {"rolename": "{a}x", "users": "{u}"}),
    ],
    "roles/removeUsersFromRole": [
        ("/security/roles/removeUsersFromRole", {"rolename": "{a}", "users": "{u}"})
    ],
    "users/assignRoles": [
        ("/security/roles/add", {"rolename": "{a}y"}),
        ("/security/users/assignRoles", {"username": "{u}", "roles": "{a}y"}),
    ],
    "users/removeRoles": [("/security/users/removeRoles", {"username": "{u}", "roles": "{a}"})],
    "roles/remove": [("/security/roles/remove", {"rolename": "{a}"})],
    "roles/assignPrivilege raised": [
        ("/security/roles/assignPrivilege", {"rolename": "{p}", "privilege": "ADMINISTER"})
    ],
    "roles/assignPrivilege lowered": [
        ("/security/roles/assignPrivilege", {"rolename": "{p}", "privilege": "ACCESS"})
    ],
}


@pytest.mark.parametrize("event", list(EVENTS))
def test_each_account_change_ends_the_earlier_tokens(site: LiveSite, event: str) -> None:
    n = next(_names)
    user, publishers, readers = f"user{n}", f"publishers{n}", f"readers{n}"
    _publisher(site, user, publishers)
    _admin(site, "/security/roles/add", rolename=readers)
    _admin(site, "/security/roles/addUsersToRole", rolename=readers, users=user)
    before = site.token(user, PASSWORD)
    assert _works(site, before)
    for path, data in EVENTS[event]:
        names = {"u": user, "p": publishers, "a": readers}
        _admin(site, path, **{k: v.format(**names) for k, v in data.items()})
    _refused_every_way(site, before)


def test_changes_that_give_or_take_nothing_keep_the_tokens(site: LiveSite) -> None:
    """A profile edit, a role's description, a member added again, a privilege set to the
    one it has, or another role's privilege that moves nothing of the user's."""
    n = next(_names)
    user, publishers, admins = f"keep{n}", f"keepers{n}", f"keepadmins{n}"
    _publisher(site, user, publishers)
    _admin(site, "/security/roles/add", rolename=admins)
    token = site.token(user, PASSWORD)
    _admin(site, "/security/users/update", username=user, fullname="Kept", email="k@x.org")
    _admin(site, "/security/roles/update", rolename=publishers, description="Publishers")
    _admin(site, "/security/roles/addUsersToRole", rolename=publishers, users=user)
    _admin(site, "/security/roles/assignPrivilege", rolename=publishers, privilege="PUBLISH")
    _admin(site, "/security/roles/assignPrivilege", rolename=admins, privilege="ADMINISTER")
    assert _works(site, token)


@pytest.mark.parametrize("again", ["alice", "ALICE"])
def test_a_user_made_again_under_the_name_is_not_the_removed_one(
    fresh_site: LiveSite, again: str
) -> None:
    """Same name (in either case), same password, same role: the first one's token names
    another identifier, so it reads nothing of the second one's."""
    site = fresh_site
    _publisher(site, "alice", "publishers")
    first = site.token("alice", PASSWORD)
    own = _upload(site, first, "first.geojson")
    assert _works(site, first)
    _admin(site, "/security/users/remove", username="alice")
    _refused_every_way(site, first)
    _publisher(site, again, "publishers")
    second = site.token(again, PASSWORD)
    theirs = _upload(site, second, "second.geojson")
    _refused_every_way(site, first)
    _refused_every_way(site, first, f"/uploads/{theirs}")
    listed = [item["itemID"] for item in _get(site, "/uploads", second, "token")["items"]]
    # The removed alice's upload is nobody's now (administrators manage it), not the new one's.
    assert theirs in listed and own not in listed
    assert own in [
        item["itemID"] for item in _get(site, "/uploads", site.token(), "token")["items"]
    ]


def test_disabling_the_administrator_ends_its_tokens(fresh_site: LiveSite) -> None:
    """The one account the API disables: the primary site administrator."""
    site = fresh_site
    _admin(site, "/security/users/add", username="ops", password=PASSWORD)
    _admin(site, "/security/roles/add", rolename="Admins")
    _admin(site, "/security/roles/assignPrivilege", rolename="Admins", privilege="ADMINISTER")
    _admin(site, "/security/roles/addUsersToRole", rolename="Admins", users="ops")
    psa, ops = site.token(), site.token("ops", PASSWORD)
    assert _works(site, psa)
    answer = httpx.post(site.admin + "/security/psa/disable", data={"f": "json", "token": ops})
    assert answer.json() == {"status": "success"}
    _refused_every_way(site, psa)
    answer = httpx.post(site.admin + "/security/psa/enable", data={"f": "json", "token": ops})
    assert answer.json() == {"status": "success"}
    _refused_every_way(site, psa)  # enabled again: the earlier tokens stay ended
    assert _works(site, site.token())


def _backup(site: LiveSite) -> str:
    answer = httpx.post(site.admin + "/exportSite", data={"f": "json", "token": site.token()})
    return str(answer.json()["location"])


def _restore(site: LiveSite, location: str) -> None:
    answer = httpx.post(
        site.admin + "/importSite", data={"f": "json", "token": site.token(), "location": location}
    ).json()
    assert answer["status"] == "success", answer


def test_a_restore_ends_the_tokens_of_the_users_it_brings_back(fresh_site: LiveSite) -> None:
    """A user still there keeps its identifier; one removed since the backup comes back with a
    fresh one, so the tokens it got after the backup (any credential version) stay ended."""
    site = fresh_site
    _publisher(site, "ann", "publishers")
    _publisher(site, "bob", "publishers")
    location = _backup(site)
    ann_id = site.store.get_user("ann").user_id
    ann = site.token("ann", PASSWORD)
    _admin(site, "/security/users/changePassword", username="bob", password=PASSWORD_2)
    bob = site.token("bob", PASSWORD_2)  # after the backup, at a later credential version
    _admin(site, "/security/users/remove", username="bob")
    _restore(site, location)
    _refused_every_way(site, ann)
    _refused_every_way(site, bob)
    assert site.store.get_user("ann").user_id == ann_id
    assert _works(site, site.token("ann", PASSWORD)) and _works(site, site.token("bob", PASSWORD))


def _rewritten(location: str, target: Path, version: int, change: Callable[[Any], None]) -> str:
    """A copy of a backup with another format version and its users changed."""
    with zipfile.ZipFile(location) as source, zipfile.ZipFile(target, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename in ("manifest.json", "configuration.json"):
                found = json.loads(data)
                if item.filename == "manifest.json":
                    found["version"] = version
                else:
                    for user in found["users"]:
                        change(user)
                data = json.dumps(found).encode()
            copy.writestr(item, data)
    return str(target)


def test_a_backup_without_identifiers_restores_with_fresh_ones(
    fresh_site: LiveSite, tmp_path: Path
) -> None:
    """Backups of format version 1 (made before identifiers) still restore; an identifier that
    is not a string, or empty, is refused as unreadable."""
    site = fresh_site
    _publisher(site, "ann", "publishers")
    before = site.store.get_user("ann").user_id
    location = _backup(site)
    old = _rewritten(location, tmp_path / "v1.agssite", 1, lambda u: u.pop("user_id"))
    _restore(site, old)
    restored = site.store.get_user("ann").user_id
    assert len(restored) == 32 and restored != before
    assert _works(site, site.token("ann", PASSWORD))
    for bad in ("", 7):
        broken = _rewritten(
            location, tmp_path / "bad.agssite", 2, lambda u, b=bad: u.update(user_id=b)
        )
        answer = httpx.post(
            site.admin + "/importSite",
            data={"f": "json", "token": site.token(), "location": broken},
        ).json()
        assert answer["code"] == 400 and "not readable" in answer["messages"][0], answer
    assert site.store.get_user("ann").user_id == restored
