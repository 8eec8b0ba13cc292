"""Authentication behaviour (issue 6, R8): what ``tests/http`` does not already pin down.

Already covered elsewhere (and not repeated here):

- lockout after five failures, for known and unknown names, and its end after 15 minutes:
  ``tests/http/test_tokens.py::test_lockout_after_repeated_failures``;
- a referer-bound token refused under another Referer:
  ``tests/http/test_tokens.py::test_token_bound_to_a_referer``;
- every token dead after a shared-key rotation:
  ``tests/http/test_accounts.py::test_token_policy_and_key_rotation``;
- a user's tokens dead after a password change: ``tests/http/test_accounts.py::test_users``
  and ``tests/http/test_tokens.py::test_password_change_ends_tokens``;
- generateToken by GET refused under the default ``allowHttpGet=false``:
  ``tests/http/test_tokens.py::test_get_with_credentials_is_refused``;
- no token in the log records of query-string requests:
  ``tests/http/test_logging.py::test_no_secret_in_any_record``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from geosite.core.models import LockoutPolicy
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site

TOKENS = "/arcgis/tokens/generateToken"
INVALID = ["Invalid username or password."]
LOCKED = ["Too many failed login attempts. Try again later."]
#: Lockout limits no timing run reaches (the per-address one too: every try is from 127.0.0.1).
NO_LOCKOUT = LockoutPolicy(max_failures=1_000_000, max_failures_per_address=1_000_000)
TRIES = 200


def _login(site: LiveSite, username: str, password: str) -> dict[str, Any]:
    return httpx.post(  # type: ignore[no-any-return]
        site.http + TOKENS,
        data={"username": username, "password": password, "client": "requestip", "f": "json"},
    ).json()


def _machines(site: LiveSite, token: str, **headers: str) -> dict[str, Any]:
    return httpx.get(  # type: ignore[no-any-return]
        site.admin + "/machines", params={"f": "json", "token": token}, headers=headers
    ).json()


# -- lockout ------------------------------------------------------------------------------------


def lockout_attempt(site: LiveSite, limit: int = 20) -> int:
    """The number of the first attempt refused as locked: wrong passwords, then the right one.

    Attempt ``n`` uses the wrong password while the account is not locked; as soon as one
    answers "locked", the right password is tried and must be refused too.
    """
    for attempt in range(1, limit + 1):
        answer = _login(site, ADMIN_USER, "wrong-password-1")
        if answer["error"]["details"] == LOCKED:
            assert _login(site, ADMIN_USER, ADMIN_PASSWORD)["error"]["details"] == LOCKED
            return attempt
        assert answer["error"]["details"] == INVALID, (attempt, answer)
    raise AssertionError(f"no lockout within {limit} attempts")


def test_lockout_on_the_sixth_bad_password(fresh_site: LiveSite) -> None:
    """Five failures are answered as failures; the sixth attempt, even right, is locked out."""
    assert lockout_attempt(fresh_site) == 6


# -- unknown user vs wrong password ------------------------------------------------------------


def _raw_login(client: httpx.Client, username: str) -> tuple[float, bytes, int, list[Any]]:
    started = time.perf_counter()
    answer = client.post(
        TOKENS,
        data={"username": username, "password": "not-the-password", "f": "json"},
    )
    elapsed = time.perf_counter() - started
    # The date and the request id differ on every answer, whoever asks.
    headers = sorted((k, v) for k, v in answer.headers.items() if k not in ("date", "x-request-id"))
    return elapsed, answer.content, answer.status_code, headers


def failed_login_timings(site: LiveSite, tries: int = TRIES) -> dict[str, Any]:
    """Interleaved failed logins, unknown user then wrong password, ``tries`` of each.

    Returns the times (seconds) of each kind and the set of distinct answers (status, headers
    but the date and request id, body bytes) each kind got.
    """
    times: dict[str, list[float]] = {"unknown": [], "wrong": []}
    answers: dict[str, set[Any]] = {"unknown": set(), "wrong": set()}
    with httpx.Client(base_url=site.http) as client:
        for name in ("no-such-user-x", ADMIN_USER):
            _raw_login(client, name)  # warm up
        for i in range(tries * 2):
            # ABBA order, so that neither kind always follows the other.
            kind = ("unknown", "wrong", "wrong", "unknown")[i % 4]
            name = "no-such-user-x" if kind == "unknown" else ADMIN_USER
            elapsed, body, status, headers = _raw_login(client, name)
            times[kind].append(elapsed)
            answers[kind].add((status, body, tuple(map(tuple, headers))))
    return {"times": times, "answers": answers}


@pytest.fixture
def unlockable_site(tmp_path: Path) -> Iterator[LiveSite]:
    live = make_site(tmp_path / "site", lockout=NO_LOCKOUT)
    yield live
    live.stop()


def test_unknown_user_and_wrong_password_look_the_same(unlockable_site: LiveSite) -> None:
    """Byte-identical answers, and median times within 5 % over 200 tries of each."""
    run = failed_login_timings(unlockable_site)
    unknown, wrong = run["answers"]["unknown"], run["answers"]["wrong"]
    assert len(unknown) == 1 and unknown == wrong
    (_status, body, _headers), *_ = unknown
    assert json.loads(body)["error"]["details"] == INVALID
    times = run["times"]
    assert len(times["unknown"]) == len(times["wrong"]) == TRIES
    median_unknown = statistics.median(times["unknown"])
    median_wrong = statistics.median(times["wrong"])
    difference = abs(median_unknown - median_wrong) / median_wrong
    assert difference < 0.05, (median_unknown, median_wrong)


# -- expiry -------------------------------------------------------------------------------------


def expiry_boundary(site: LiveSite) -> dict[str, Any]:
    """A one-minute token, tried just before and after its ``expires`` on the site's clock."""
    issued = httpx.post(
        site.admin + "/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "expiration": "1", "f": "json"},
    ).json()
    token, expires = issued["token"], issued["expires"]
    site.clock.advance(seconds=(expires - site.clock.now_ms()) / 1000 - 1)
    before = _machines(site, token)
    site.clock.advance(seconds=2)
    after = _machines(site, token)
    return {"before": before, "after": after}


def test_token_refused_one_second_after_expiry(fresh_site: LiveSite) -> None:
    seen = expiry_boundary(fresh_site)
    assert "machines" in seen["before"]  # a second before its expiry, it still works
    assert seen["after"] == {"status": "error", "code": 498, "messages": ["Token Expired."]}


# -- disabling an account ----------------------------------------------------------------------


def _admin(site: LiveSite, token: str, path: str, **data: str) -> dict[str, Any]:
    return httpx.post(  # type: ignore[no-any-return]
        site.admin + path, data={"f": "json", "token": token, **data}
    ).json()


def test_disabling_an_account_ends_its_tokens(fresh_site: LiveSite) -> None:
    site, psa = fresh_site, fresh_site.token()
    ok = {"status": "success"}
    assert _admin(site, psa, "/security/users/add", username="ops", password="Ops-Pass-123") == ok
    assert _admin(site, psa, "/security/roles/add", rolename="Admins") == ok
    assert (
        _admin(
            site, psa, "/security/roles/assignPrivilege", rolename="Admins", privilege="ADMINISTER"
        )
        == ok
    )
    assert _admin(site, psa, "/security/roles/addUsersToRole", rolename="Admins", users="ops") == ok
    ops = site.token("ops", "Ops-Pass-123")
    assert "machines" in _machines(site, psa)
    assert _admin(site, ops, "/security/psa/disable") == ok
    assert _machines(site, psa)["code"] == 498
    assert _admin(site, ops, "/security/psa/enable") == ok
    assert _machines(site, psa)["code"] == 498  # enabling again does not bring tokens back
    assert "machines" in _machines(site, site.token())


# -- allowHttpGet -------------------------------------------------------------------------------


def test_generate_token_by_get_follows_allow_http_get(fresh_site: LiveSite) -> None:
    site, token = fresh_site, fresh_site.token()
    creds = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "f": "json"}

    def policy(allow: str) -> None:
        config = {"type": "BUILTIN", "properties": {"allowHttpGet": allow}}
        answer = _admin(
            site, token, "/security/tokens/update", tokenManagerConfig=json.dumps(config)
        )
        assert answer == {"status": "success"}

    policy("true")
    assert "token" in httpx.get(site.http + TOKENS, params=creds).json()
    policy("false")
    refused = httpx.get(site.http + TOKENS, params=creds).json()
    assert refused["error"]["code"] == 405
    assert httpx.get(site.admin + "/generateToken", params=creds).json()["code"] == 405


# -- no token in the logs -----------------------------------------------------------------------


def test_no_token_anywhere_in_the_logs(fresh_site: LiveSite) -> None:
    """Tokens in the query, the form, both headers and the cookie; good, bound and refused."""
    site = fresh_site
    token = site.token()
    bound = httpx.post(
        site.http + TOKENS,
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "client": "referer",
            "referer": "https://app.example/",
            "f": "json",
        },
    ).json()["token"]
    expired = httpx.post(
        site.admin + "/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "expiration": "1", "f": "json"},
    ).json()["token"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    urls = [
        site.admin + "/machines",
        site.admin + "/nothing-here",
        site.admin + "/security/users/search",
        site.http + "/arcgis/rest/services",
        site.http + "/arcgis/rest/services/Nope/FeatureServer",
    ]
    for value in (token, bound, tampered):
        for url in urls:
            httpx.get(url, params={"f": "json", "token": value})
            httpx.get(url, params={"f": "html", "token": value})
            httpx.post(url, data={"f": "json", "token": value})
            httpx.get(
                url, params={"f": "json"}, headers={"X-Esri-Authorization": f"Bearer {value}"}
            )
            httpx.get(url, params={"f": "json"}, headers={"Authorization": f"Bearer {value}"})
            httpx.get(url, params={"f": "html"}, cookies={"AGS_ADMIN_TOKEN": value})
            httpx.get(url, params={"f": "json", "token": value}, headers={"Referer": "https://x/"})
    site.clock.advance(minutes=2)
    for url in urls:
        httpx.get(url, params={"f": "json", "token": expired})
    site.flush_logs()
    records = site.log_store.query(limit=100_000)
    assert len(records) > 5 * len(urls)  # FINE: every request left a record
    secrets = {}
    for name, value in (("token", token), ("bound", bound), ("expired", expired)):
        secrets[name] = value
        secrets[name + " signature"] = value.rsplit(".", 1)[-1]
    for record in records:
        text = repr(record)
        for name, value in secrets.items():
            assert value not in text, (name, record)
    files = [f for f in site.data_dir.rglob("logs.db*") if f.is_file()]
    assert files
    for file in files:
        data = file.read_bytes()
        for name, value in secrets.items():
            assert value.encode() not in data, (name, file)
