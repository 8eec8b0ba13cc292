"""The site's secrets sealed at rest: token signing keys, the key pair of ``publicKey`` and the
key of registered databases' passwords are kept in the shared store encrypted with the
**site key**, which is not in the store.

The site key (256 random bits) is made with the site and kept in each machine's
``machine.json`` (mode 0600); a machine that joins gets it with the store's connection (over
HTTPS, or sealed with the join code). A copy of the store alone (a database dump, a replica, a
backup of PostgreSQL) therefore holds no usable signing key: tokens cannot be forged from it.

Sealed values are ``sealed1:`` and the base64 of nonce and AES-256-GCM cipher text, bound to
what they are (``purpose``). A value without the prefix was written before sealing existed
(a site made by an older geosite, whose machines have no site key) and is read as it is.

The application installs each open store's ``Sealer`` (``install``); the core code that keeps
secrets finds it with ``of(store)``, as ``data_locations`` finds its removers.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import weakref

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from geosite.errors import InternalError, InvalidParameter

PREFIX = "sealed1:"
#: A sealed known text in the store, to tell whether a machine holds the site's key.
CHECK_SETTING = "security.siteKeyCheck"
_CHECK_TEXT = "geosite site key"
_KEY_BYTES = 32


def new_key() -> str:
    """A new site key, as ``machine.json`` keeps it (URL-safe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode()


def valid_key(text: object) -> str | None:
    """``text`` when it is a site key (32 bytes in URL-safe base64), else None."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (ValueError, binascii.Error):
        return None
    canonical = len(raw) == _KEY_BYTES and base64.urlsafe_b64encode(raw).decode() == text
    return text if canonical else None


class Sealer:
    """Seals and opens the secrets of one site (``key`` None: a site without a site key,
    whose secrets were written in the clear)."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self._aead = AESGCM(base64.urlsafe_b64decode(key.encode())) if key else None

    def seal(self, text: str, purpose: str) -> str:
        """``text`` sealed for ``purpose`` (as it is, on a site without a site key)."""
        if self._aead is None:
            return text
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, text.encode(), purpose.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str, purpose: str) -> str:
        """What ``seal`` sealed (a value written in the clear is returned as it is)."""
        if not stored.startswith(PREFIX):
            return stored
        if self._aead is None:
            raise InternalError(
                private=["a sealed secret in the store, and no site key in machine.json"]
            )
        try:
            data = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode())
            return self._aead.decrypt(data[:12], data[12:], purpose.encode()).decode()
        except (ValueError, binascii.Error, InvalidTag, UnicodeDecodeError):
            raise InternalError(
                private=[f"a sealed secret ({purpose}) does not open with this site key"]
            ) from None

    def check_value(self) -> str:
        """The sealed known text that tells machines whether they hold this site key."""
        return self.seal(_CHECK_TEXT, "check")

    def opens(self, check: object) -> bool:
        """Whether ``check`` (the store's ``CHECK_SETTING``) was sealed with this key."""
        if not isinstance(check, str):
            return True  # a site made before site keys: nothing sealed to open
        if not check.startswith(PREFIX) or self._aead is None:
            return False
        try:
            return self.open(check, "check") == _CHECK_TEXT
        except InternalError:
            return False


def require_key(key: str | None, check: object) -> None:
    """``InvalidParameter`` unless ``key`` opens the site's secrets (``check``: the store's
    ``CHECK_SETTING``; None on a site made before site keys)."""
    if check is None:
        return
    if not Sealer(valid_key(key)).opens(check):
        raise InvalidParameter(
            "The site's secrets are sealed with its site key, which this machine does not "
            "have: join the site with joinSite (geosite serve --join) or machines/register, "
            "or give the key of another machine's machine.json as GEOSITE_SITE_KEY."
        )


#: Each open store's sealer (installed by whoever opens the store with its site key).
_SEALERS: weakref.WeakKeyDictionary[object, Sealer] = weakref.WeakKeyDictionary()
_CLEAR = Sealer(None)


def install(store: object, sealer: Sealer) -> None:
    """Seal and open ``store``'s secrets with ``sealer``."""
    _SEALERS[store] = sealer


def of(store: object) -> Sealer:
    """The sealer installed for ``store`` (one that keeps values as they are, otherwise)."""
    try:
        return _SEALERS.get(store, _CLEAR)
    except TypeError:  # not weakly referenceable: no sealer for it
        return _CLEAR
