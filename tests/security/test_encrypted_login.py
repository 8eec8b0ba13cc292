"""``/admin/publicKey`` and credentials sent with ``encrypted=true`` (issue 17, item 4).

Published administration libraries fetch ``publicKey`` (exponent and modulus in hex), encrypt
each token parameter with RSA PKCS#1 v1.5, send the hex of each, and add ``encrypted=true``
(agsadmin's ``encrypt_request_data``: username, password, expiration, client, referer). The
same key pair serves ``users/add``, ``users/update`` and ``users/changePassword``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site


def _public(site: LiveSite) -> dict[str, str]:
    answer = httpx.get(site.admin + "/publicKey", params={"f": "json"})  # no token needed
    body: dict[str, str] = answer.json()
    return body


def _encrypt(key: dict[str, str], values: dict[str, str], upper: bool = False) -> dict[str, str]:
    """As the published libraries do: each value alone, PKCS#1 v1.5, hex."""
    numbers = rsa.RSAPublicNumbers(int(key["publicKey"], 16), int(key["modulus"], 16))
    public = numbers.public_key()
    out = {}
    for name, value in values.items():
        text = public.encrypt(value.encode(), padding.PKCS1v15()).hex()
        out[name] = text.upper() if upper else text
    return out


def _login(site: LiveSite, path: str, key: dict[str, str], **extra: str) -> dict[str, Any]:
    values = {
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "expiration": "60",
        "client": "requestip",
        "referer": "",
        **extra,
    }
    data = {**_encrypt(key, values), "encrypted": "true", "f": "json"}
    body: dict[str, Any] = httpx.post(site.http + path, data=data).json()
    return body


def _signs_in(site: LiveSite, username: str, password: str) -> bool:
    """Whether the user gets a token from the token service (no role needed there)."""
    data = {"username": username, "password": password, "f": "json"}
    return "token" in httpx.post(site.http + "/arcgis/tokens/generateToken", data=data).json()


def test_public_key_shape(site: LiveSite) -> None:
    key = _public(site)
    assert set(key) == {"publicKey", "modulus"}
    assert key["publicKey"] == "10001"
    assert len(key["modulus"]) == 512 and int(key["modulus"], 16).bit_length() == 2048
    root = httpx.get(site.admin + "/", params={"f": "json", "token": site.token()}).json()
    assert "publicKey" in root["resources"]


@pytest.mark.parametrize("path", ["/arcgis/admin/generateToken", "/arcgis/tokens/generateToken"])
def test_encrypted_login_gives_a_working_token(site: LiveSite, path: str) -> None:
    answer = _login(site, path, _public(site))
    assert "token" in answer, answer
    machines = httpx.get(site.admin + "/machines", params={"f": "json", "token": answer["token"]})
    assert "machines" in machines.json()


def test_upper_case_hex_is_read_too(site: LiveSite) -> None:
    key = _public(site)
    values = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    data = {**_encrypt(key, values, upper=True), "encrypted": "true", "f": "json"}
    answer = httpx.post(site.admin + "/generateToken", data=data).json()
    assert "token" in answer, answer


@pytest.mark.parametrize(
    ("username", "why"),
    [
        (ADMIN_USER, "not hexadecimal"),  # sent in the clear with encrypted=true
        ("00ff", "not 256 bytes long"),
        ("", None),
    ],
)
def test_what_does_not_decrypt_is_a_400(site: LiveSite, username: str, why: str | None) -> None:
    key = _public(site)
    data = {
        "username": username,
        **_encrypt(key, {"password": ADMIN_PASSWORD}),
        "encrypted": "true",
        "f": "json",
    }
    answer = httpx.post(site.admin + "/generateToken", data=data).json()
    assert answer["status"] == "error" and answer["code"] == 400, answer
    if why is not None:
        assert "'username' could not be decrypted" in answer["messages"][0]
        assert why in answer["messages"][0]
    bogus = {**data, "username": "00" * 256}  # the right length; decrypts to nothing usable
    answer = httpx.post(site.admin + "/generateToken", data=bogus).json()
    assert answer["status"] == "error" and answer["code"] == 400, answer
    assert "token" not in answer


def test_users_add_and_change_password_encrypted(site: LiveSite) -> None:
    admin = site.token()
    key = _public(site)
    added = httpx.post(
        site.admin + "/security/users/add",
        data={
            "f": "json",
            "token": admin,
            "username": "cipher",
            "encrypted": "true",
            **_encrypt(key, {"password": "first-secret-1"}),
        },
    ).json()
    assert added == {"status": "success"}, added
    assert _signs_in(site, "cipher", "first-secret-1")
    changed = httpx.post(
        site.admin + "/security/users/update",
        data={
            "f": "json",
            "token": admin,
            "username": "cipher",
            "encrypted": "true",
            **_encrypt(key, {"password": "second-secret-2"}),
        },
    ).json()
    assert changed == {"status": "success"}, changed
    assert _signs_in(site, "cipher", "second-secret-2")
    assert not _signs_in(site, "cipher", "first-secret-1")
    refused = httpx.post(
        site.admin + "/security/users/changePassword",
        data={
            "f": "json",
            "token": admin,
            "username": "cipher",
            "encrypted": "true",
            "password": "third-secret-3",  # not encrypted
        },
    ).json()
    assert refused["code"] == 400 and "'password' could not be decrypted" in refused["messages"][0]
    assert _signs_in(site, "cipher", "second-secret-2")


def test_rotation_replaces_the_pair(fresh_site: LiveSite) -> None:
    old = _public(fresh_site)
    admin = fresh_site.token()
    anonymous = httpx.post(fresh_site.admin + "/publicKey/rotate", data={"f": "json"}).json()
    assert anonymous["code"] == 499
    rotated = httpx.post(
        fresh_site.admin + "/publicKey/rotate", data={"f": "json", "token": admin}
    ).json()
    assert rotated == {"status": "success"}
    new = _public(fresh_site)
    assert new["modulus"] != old["modulus"]
    stale = _login(fresh_site, "/arcgis/admin/generateToken", old)
    assert "token" not in stale and stale["code"] == 400, stale
    assert "token" in _login(fresh_site, "/arcgis/admin/generateToken", new)


def test_create_new_site_takes_encrypted_credentials(tmp_path: Path) -> None:
    """A machine with no site shows a key of its own; createNewSite decrypts the new
    administrator's name and password with it, and the site keeps that key (a client that
    fetched it before goes on using it); the machine's copy is gone, readable only by us."""
    bare = make_site(tmp_path / "machine", create=False)
    try:
        key = _public(bare)
        assert set(key) == {"publicKey", "modulus"}
        kept = tmp_path / "machine" / "machine-key.json"
        assert kept.stat().st_mode & 0o077 == 0
        assert _public(bare) == key  # one pair until the site exists
        refused = httpx.post(
            bare.admin + "/createNewSite",
            data={"username": "psa", "password": "not-hex", "encrypted": "true", "f": "json"},
        ).json()
        assert refused["code"] == 400 and "'username'" in refused["messages"][0], refused
        assert not (bare.data_dir / "machine.json").exists()
        credentials = _encrypt(key, {"username": "psa", "password": "a-long-password-1"})
        created = httpx.post(
            bare.admin + "/createNewSite",
            data={**credentials, "encrypted": "true", "f": "json"},
            timeout=60,
        ).json()
        assert created == {"status": "success"}, created
        assert not kept.exists()
        assert _public(bare) == key
        assert _signs_in(bare, "psa", "a-long-password-1")
        again = _encrypt(
            key, {"username": "psa", "password": "a-long-password-1", "client": "requestip"}
        )
        token = httpx.post(
            bare.admin + "/generateToken", data={**again, "encrypted": "true", "f": "json"}
        ).json()
        assert "token" in token, token
    finally:
        bare.stop()
