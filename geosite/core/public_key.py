"""The site's RSA key pair: ``/admin/publicKey`` and credentials sent with ``encrypted=true``.

ArcGIS clients (published administration libraries, the Server Manager of old) fetch
``publicKey`` (the exponent and the modulus, in hex) and send ``username``, ``password`` and the
other token parameters each RSA-encrypted with PKCS#1 v1.5 and hex-encoded, with
``encrypted=true``, so that a password does not cross plain HTTP in the clear. Here:

- the key pair (2048 bits) is made with the site, or on first use by a site made before it;
  ``SiteStore.add_setting`` makes the workers agree on one pair. The private key lives in the
  site's store (a file only the server's user may read), never in a backup.
- ``rotate`` makes a new pair at once: what was encrypted with the old one no longer
  decrypts (clients fetch the key before each login, as Esri's own software does).
- a value that is not hex, or not of the key's length, or whose plaintext is not UTF-8, is a
  400 that names the parameter. The OpenSSL that ``cryptography`` ships rejects bad padding
  implicitly (a pseudo-random plaintext, not an error: no padding oracle), so a wrong
  ciphertext mostly fails as text, and otherwise as wrong credentials: a 400 either way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from geosite.core.clock import Clock
from geosite.errors import BadRequest
from geosite.storage.base import SiteStore

SETTING = "security.rsaKeyPair"
KEY_BITS = 2048
_PUBLIC_EXPONENT = 65537


@dataclass(frozen=True)
class KeyPair:
    """The private key (PEM) and when it was made."""

    current: str
    created_ms: int

    def stored(self) -> dict[str, object]:
        """The setting's JSON."""
        return {"current": self.current, "createdMs": self.created_ms}


def _new_pem() -> str:
    key = rsa.generate_private_key(public_exponent=_PUBLIC_EXPONENT, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pair(raw: object) -> KeyPair | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("current"), str):
        return None
    created = raw.get("createdMs")
    return KeyPair(str(raw["current"]), created if isinstance(created, int) else 0)


class SiteKeys:
    """The site's key pair, read from its store (parsed keys are kept by their PEM text)."""

    def __init__(self, store: SiteStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._parsed: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = threading.Lock()

    def _key(self, pem: str) -> rsa.RSAPrivateKey:
        with self._lock:
            key = self._parsed.get(pem)
            if key is None:
                loaded = serialization.load_pem_private_key(pem.encode(), password=None)
                if not isinstance(loaded, rsa.RSAPrivateKey):
                    raise TypeError("the site's key pair is not an RSA key")
                key = loaded
                self._parsed = {pem: key}  # the current one only: a rotation drops the old
            return key

    def pair(self) -> KeyPair:
        """The stored pair; made now when the site has none."""
        found = _pair(self._store.get_setting(SETTING))
        if found is not None:
            return found
        made = KeyPair(_new_pem(), self._clock.now_ms())
        stored = _pair(self._store.add_setting(SETTING, made.stored()))
        return stored if stored is not None else made

    def public(self) -> dict[str, str]:
        """``{publicKey, modulus}`` as ArcGIS answers them: lowercase hex, no prefix."""
        numbers = self._key(self.pair().current).public_key().public_numbers()
        return {"publicKey": format(numbers.e, "x"), "modulus": format(numbers.n, "x")}

    def rotate(self) -> None:
        """A new pair in place of the current one."""
        self._store.put_setting(SETTING, KeyPair(_new_pem(), self._clock.now_ms()).stored())

    def decrypt(self, name: str, value: str) -> str:
        """The text of the parameter ``name`` sent encrypted (hex of PKCS#1 v1.5)."""
        try:
            data = bytes.fromhex(value.strip())
        except ValueError:
            raise _undecryptable(name, "it is not hexadecimal") from None
        key = self._key(self.pair().current)
        if len(data) != key.key_size // 8:
            raise _undecryptable(name, f"it is not {key.key_size // 8} bytes long")
        try:
            return key.decrypt(data, padding.PKCS1v15()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise _undecryptable(name, "the site's public key does not decrypt it") from None


def _undecryptable(name: str, why: str) -> BadRequest:
    return BadRequest(
        f"Parameter '{name}' could not be decrypted: {why}. Fetch /arcgis/admin/publicKey "
        "and encrypt it again (RSA, PKCS#1 v1.5, hex), or send it without encrypted=true."
    )
