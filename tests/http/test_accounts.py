"""Users and roles through /arcgis/admin/security: what ArcGIS's admin scripts call."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite


def _post(site: LiveSite, path: str, token: str | None, **data: Any) -> dict[str, Any]:
    fields = {"f": "json", **data}
    if token is not None:
        fields["token"] = token
    return httpx.post(site.admin + "/security" + path, data=fields).json()  # type: ignore[no-any-return]


def _token(site: LiveSite, user: str, password: str) -> dict[str, Any]:
    return httpx.post(  # type: ignore[no-any-return]
        f"{site.http}/arcgis/tokens/generateToken",
        data={"username": user, "password": password, "client": "requestip", "f": "json"},
    ).json()


OK = {"status": "success"}


def test_users(fresh_site: LiveSite) -> None:
    site, admin = fresh_site, fresh_site.token()
    assert (
        _post(
            site,
            "/users/add",
            admin,
            username="field.crew-1",
            password="Crew-pass-1",
            fullname="Crew",
            email="c@x.org",
        )
        == OK
    )
    for name, password, code in (
        ("FIELD.CREW-1", "Crew-pass-1", 409),  # names ignore case
        ("bad name", "Crew-pass-1", 400),
        ("../x", "Crew-pass-1", 400),
        ("short", "short", 400),
        ("samename", "samename", 400),
        ("", "Crew-pass-1", 400),
    ):
        answer = _post(site, "/users/add", admin, username=name, password=password)
        assert answer["status"] == "error" and answer["code"] == code, (name, answer)
    listed = _post(site, "/users/getUsers", admin, startIndex="0", pageSize="10")
    assert [u["username"] for u in listed["users"]] == ["field.crew-1", ADMIN_USER]
    assert _post(site, "/users/getUsers", admin, startIndex="1", pageSize="1") == {
        "users": [
            {
                "username": ADMIN_USER,
                "fullname": "Primary Site Administrator",
                "description": "",
                "email": "",
                "disabled": False,
            }
        ],
        "hasMore": False,
    }
    assert _post(site, "/users/update", admin, username="field.crew-1", description="nights") == OK
    found = _post(site, "/users/search", admin, filter="crew")["users"][0]
    assert (found["fullname"], found["description"], found["email"]) == (
        "Crew",
        "nights",
        "c@x.org",
    )

    first = _token(site, "field.crew-1", "Crew-pass-1")["token"]
    # The admin API tells a live token of a non-administrator (403) from a dead one (498).
    rest = site.admin + "/info"
    assert httpx.get(rest, params={"f": "json", "token": first}).json()["code"] == 403
    assert (
        _post(site, "/users/changePassword", admin, username="field.crew-1", password="New-pass-22")
        == OK
    )
    assert httpx.get(rest, params={"f": "json", "token": first}).json()["code"] == 498
    assert _token(site, "field.crew-1", "Crew-pass-1")["error"]["code"] == 400
    second = _token(site, "field.crew-1", "New-pass-22")["token"]
    assert _post(site, "/users/remove", admin, username="FIELD.crew-1") == OK
    assert httpx.get(rest, params={"f": "json", "token": second}).json()["code"] == 498
    assert _post(site, "/users/remove", admin, username="field.crew-1")["code"] == 404
    assert _post(site, "/users/remove", admin, username=ADMIN_USER)["code"] == 409


def test_roles_and_privileges(fresh_site: LiveSite) -> None:
    site, admin = fresh_site, fresh_site.token()
    for name in ("ana", "ben"):
        assert _post(site, "/users/add", admin, username=name, password=f"{name}-Password-1") == OK
    assert _post(site, "/roles/add", admin, rolename="Analysts", description="read") == OK
    assert _post(site, "/roles/add", admin, rolename="analysts")["code"] == 409
    assert _post(site, "/roles/add", admin, rolename="esriEveryone")["code"] == 400
    assert _post(site, "/roles/addUsersToRole", admin, rolename="Analysts", users="ana,ben") == OK
    assert (
        _post(site, "/roles/addUsersToRole", admin, rolename="Analysts", users="ghost")["code"]
        == 404
    )
    assert _post(site, "/roles/getUsersWithinRole", admin, rolename="analysts") == {
        "users": ["ana", "ben"],
        "hasMore": False,
    }
    assert _post(site, "/users/getRoles", admin, username="ana") == {
        "roles": ["Analysts"],
        "hasMore": False,
    }
    # roles/getRolesForUser is the name the ArcGIS API for Python and the reference use.
    assert _post(site, "/roles/add", admin, rolename="Auditors") == OK
    assert _post(site, "/users/assignRoles", admin, username="ana", roles="Auditors") == OK
    assert _post(site, "/roles/getRolesForUser", admin, username="ana") == {
        "roles": ["Analysts", "Auditors"],
        "hasMore": False,
    }
    assert _post(site, "/roles/getRolesForUser", admin, username="ana", filter="AUD") == {
        "roles": ["Auditors"],
        "hasMore": False,
    }
    assert _post(site, "/roles/getRolesForUser", admin, username="ana", maxCount="1") == {
        "roles": ["Analysts"],
        "hasMore": True,
    }
    assert _post(site, "/roles/getRolesForUser", admin, username="nobody")["code"] == 404
    assert _post(site, "/roles/remove", admin, rolename="Auditors") == OK
    assert _post(site, "/users/getPrivilege", admin, username="ana") == {"privilege": "ACCESS"}
    assert _post(site, "/roles/getPrivilege", admin, rolename="Analysts") == {"privilege": "ACCESS"}

    # An ACCESS user cannot administer; given ADMINISTER through the role, it can.
    ana = _token(site, "ana", "ana-Password-1")["token"]
    assert _post(site, "/users/getUsers", ana)["code"] == 403
    assert (
        _post(site, "/roles/assignPrivilege", admin, rolename="Analysts", privilege="ADMINISTER")
        == OK
    )
    assert (
        _post(site, "/roles/assignPrivilege", admin, rolename="Analysts", privilege="ROOT")["code"]
        == 400
    )
    ana = _token(site, "ana", "ana-Password-1")["token"]
    assert "users" in _post(site, "/users/getUsers", ana)
    # The reference answers role names here, not role objects.
    assert _post(site, "/roles/getRolesByPrivilege", admin, privilege="administer") == {
        "roles": ["Analysts"]
    }
    assert _post(site, "/roles/update", admin, rolename="Analysts", description="all") == OK
    assert _post(site, "/roles/getRoles", admin)["roles"] == [
        {"rolename": "Analysts", "description": "all"}
    ]
    assert _post(site, "/users/removeRoles", admin, username="ben", roles="Analysts") == OK
    assert _post(site, "/users/getRoles", admin, username="ben") == {"roles": [], "hasMore": False}
    assert _post(site, "/users/assignRoles", admin, username="ben", roles="Analysts") == OK
    assert _post(site, "/roles/removeUsersFromRole", admin, rolename="Analysts", users="ben") == OK
    assert _post(site, "/roles/remove", admin, rolename="Analysts") == OK
    assert _post(site, "/users/getRoles", admin, username="ana") == {"roles": [], "hasMore": False}
    assert _post(site, "/users/getPrivilege", admin, username="ana") == {"privilege": "ACCESS"}
    # The role, and its privilege, are gone; so are the tokens issued while ana had it.
    assert _post(site, "/users/getUsers", ana)["code"] == 498
    ana = _token(site, "ana", "ana-Password-1")["token"]
    assert _post(site, "/users/getUsers", ana)["code"] == 403


@pytest.mark.parametrize(
    "path",
    [
        "/users/getUsers",
        "/users/add",
        "/users/update",
        "/users/remove",
        "/users/changePassword",
        "/users/getRoles",
        "/users/assignRoles",
        "/users/removeRoles",
        "/users/getPrivilege",
        "/roles/getRoles",
        "/roles/add",
        "/roles/remove",
        "/roles/addUsersToRole",
        "/roles/assignPrivilege",
        "/roles/getRolesByPrivilege",
        "/roles/getRolesForUser",
    ],
)
def test_account_operations_need_an_administrator(site: LiveSite, path: str) -> None:
    params = {
        "username": "x1234567",
        "password": "Password-123",
        "rolename": "R",
        "privilege": "ACCESS",
    }
    assert _post(site, path, None, **params)["code"] == 499
    assert _post(site, path, "garbage", **params)["code"] == 498


def test_token_policy_and_key_rotation(fresh_site: LiveSite) -> None:
    site, admin = fresh_site, fresh_site.token()
    config = {"type": "BUILTIN", "properties": {"shortTimeout": "30", "longTimeout": "600"}}
    answer = _post(site, "/tokens/update", admin, tokenManagerConfig=json.dumps(config))
    assert answer == OK
    assert _post(site, "/tokens", admin)["properties"] == {
        "shortTimeout": "30",
        "longTimeout": "600",
        "allowHttpGet": "false",
    }
    for bad in (
        {"shortTimeout": "0"},
        {"shortTimeout": "700"},
        {"longTimeout": "x"},
        {"tokenManagerConfig": '{"properties": [1, 2]}'},
        {"tokenManagerConfig": "[]"},
    ):
        assert _post(site, "/tokens/update", admin, **bad)["code"] == 400
    assert _post(site, "/tokens", admin)["properties"]["longTimeout"] == "600"
    asked = httpx.post(
        site.admin + "/generateToken",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "client": "requestip",
            "expiration": "100000",
            "f": "json",
        },
    ).json()
    assert asked["expires"] - site.clock.now_ms() <= 600 * 60_000 + 5_000  # capped

    assert _post(site, "/users/add", admin, username="ana", password="ana-Password-1") == OK
    user_token = _token(site, "ana", "ana-Password-1")["token"]
    assert _post(site, "/tokens/update", admin, sharedKey="rotate-now") == OK
    for old in (admin, user_token):
        assert (
            httpx.get(site.admin + "/info", params={"f": "json", "token": old}).json()["code"]
            == 498
        )
    fresh = site.token()  # a new login signs with the new key
    assert _post(site, "/tokens", fresh)["type"] == "BUILTIN"


def _admin_token(site: LiveSite, user: str, password: str) -> Any:
    return (
        httpx.post(
            site.admin + "/generateToken",
            data={"username": user, "password": password, "client": "requestip", "f": "json"},
        )
        .json()
        .get("token")
    )


def test_primary_site_administrator(fresh_site: LiveSite) -> None:
    site, admin = fresh_site, fresh_site.token()
    assert _post(site, "/psa", admin) == {"username": ADMIN_USER, "disabled": False}
    assert _post(site, "/psa/update", admin, password="short")["code"] == 400
    assert _post(site, "/psa/update", admin, username="chief", password="Chief-Pass-99") == OK
    assert _post(site, "/psa", admin)["code"] == 498  # its tokens ended
    assert _admin_token(site, ADMIN_USER, ADMIN_PASSWORD) is None
    chief = _admin_token(site, "chief", "Chief-Pass-99")
    assert _post(site, "/psa", chief) == {"username": "chief", "disabled": False}
    assert _post(site, "/psa/enable", chief) == OK  # already enabled: nothing changes
    assert _post(site, "/psa", chief)["username"] == "chief"  # and its token still works

    assert _post(site, "/psa/disable", chief)["code"] == 409  # nobody else could administer
    assert _post(site, "/users/add", chief, username="ops", password="Ops-Pass-123") == OK
    assert _post(site, "/roles/add", chief, rolename="Admins") == OK
    assert (
        _post(site, "/roles/assignPrivilege", chief, rolename="Admins", privilege="ADMINISTER")
        == OK
    )
    assert _post(site, "/roles/addUsersToRole", chief, rolename="Admins", users="ops") == OK
    assert _post(site, "/psa/disable", chief) == OK
    assert _admin_token(site, "chief", "Chief-Pass-99") is None  # a disabled account cannot log in
    ops = _admin_token(site, "ops", "Ops-Pass-123")
    assert _post(site, "/psa", ops) == {"username": "chief", "disabled": True}
    assert _post(site, "/psa/enable", ops) == OK
    assert _admin_token(site, "chief", "Chief-Pass-99") is not None


def test_disabling_a_user(fresh_site: LiveSite) -> None:
    """``users/update`` with ``disabled`` (geosite's, beside ``psa/disable``): a disabled user
    cannot sign in and its tokens end; enabled again, it signs in; refusals change nothing."""
    admin = fresh_site.token()
    assert _post(fresh_site, "/roles/add", admin, rolename="admins")["status"] == "success"
    assert _post(fresh_site, "/roles/assignPrivilege", admin, rolename="admins",
                 privilege="ADMINISTER")["status"] == "success"  # fmt: skip
    for name in ("ann", "root2"):
        added = _post(fresh_site, "/users/add", admin, username=name, password="Ann-pass-1")
        assert added["status"] == "success"
    assert _post(fresh_site, "/roles/addUsersToRole", admin, rolename="admins",
                 users="root2")["status"] == "success"  # fmt: skip
    ann = _token(fresh_site, "ann", "Ann-pass-1")["token"]
    answer = _post(fresh_site, "/users/update", admin, username="ann", disabled="true")
    assert answer == OK
    assert _post(fresh_site, "/users/search", admin, filter="ann")["users"][0]["disabled"] is True
    assert "token" not in _token(fresh_site, "ann", "Ann-pass-1")
    dead = httpx.get(fresh_site.admin + "/info", params={"f": "json", "token": ann}).json()
    assert dead["code"] == 498  # not 403: the token itself is dead
    assert _post(fresh_site, "/users/update", admin, username="ann", disabled="false") == OK
    assert "token" in _token(fresh_site, "ann", "Ann-pass-1")

    root2 = _token(fresh_site, "root2", "Ann-pass-1")["token"]
    refusals = [
        (admin, {"username": ADMIN_USER, "disabled": "true"}, "psa/disable"),
        (root2, {"username": "root2", "disabled": "true"}, "your own account"),
        (admin, {"username": "ann", "disabled": "maybe"}, "true or false"),
        # Nothing changes when one part is refused: the description stays.
        (admin, {"username": "ann", "disabled": "nope", "description": "x"}, "true or false"),
    ]
    for token, data, text in refusals:
        answer = _post(fresh_site, "/users/update", token, **data)
        assert answer["status"] == "error" and text in " ".join(answer["messages"]), answer
    assert _post(fresh_site, "/users/search", admin, filter="ann")["users"][0]["description"] == ""
    # Nobody removes their own account.
    answer = _post(fresh_site, "/users/remove", root2, username="root2")
    assert answer["status"] == "error" and "your own account" in " ".join(answer["messages"])
    # The last enabled administrator may not go: the primary one is disabled first.
    assert _post(fresh_site, "/psa/disable", root2) == OK
    answer = _post(fresh_site, "/users/update", fresh_site.token("root2", "Ann-pass-1"),
                   username="root2", disabled="true")  # fmt: skip
    assert answer["status"] == "error"
