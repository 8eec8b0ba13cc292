"""The site's secrets sealed at rest with the site key (``geosite.core.sealing``)."""

from __future__ import annotations

import pytest

from geosite.core import sealing
from geosite.errors import InternalError, InvalidParameter


def test_seal_and_open() -> None:
    key = sealing.new_key()
    assert sealing.valid_key(key) == key
    sealer = sealing.Sealer(key)
    sealed = sealer.seal("secret text", "token signing key")
    assert sealed.startswith(sealing.PREFIX) and "secret" not in sealed
    assert sealed != sealer.seal("secret text", "token signing key")  # a fresh nonce each time
    assert sealer.open(sealed, "token signing key") == "secret text"


def test_what_does_not_open() -> None:
    sealer = sealing.Sealer(sealing.new_key())
    sealed = sealer.seal("secret text", "token signing key")
    with pytest.raises(InternalError):  # bound to what it is
        sealer.open(sealed, "data item key")
    with pytest.raises(InternalError):  # another site's key
        sealing.Sealer(sealing.new_key()).open(sealed, "token signing key")
    with pytest.raises(InternalError):  # a machine without the key
        sealing.Sealer(None).open(sealed, "token signing key")
    with pytest.raises(InternalError):
        sealer.open(sealing.PREFIX + "!!not base64", "token signing key")
    # A value written before sealing existed is read as it is.
    assert sealer.open("plain-secret", "token signing key") == "plain-secret"
    assert sealing.Sealer(None).seal("plain", "x") == "plain"


@pytest.mark.parametrize("text", [None, "", "short", "a" * 100, 42, sealing.new_key() + "x"])
def test_keys_that_are_not_keys(text: object) -> None:
    assert sealing.valid_key(text) is None


def test_the_check_tells_who_holds_the_key() -> None:
    key = sealing.new_key()
    check = sealing.Sealer(key).check_value()
    assert sealing.Sealer(key).opens(check)
    assert not sealing.Sealer(sealing.new_key()).opens(check)
    assert not sealing.Sealer(None).opens(check)
    sealing.require_key(key, check)
    sealing.require_key(None, None)  # a site made before site keys
    for wrong in (None, "not-a-key", sealing.new_key()):
        with pytest.raises(InvalidParameter, match="GEOSITE_SITE_KEY"):
            sealing.require_key(wrong, check)
