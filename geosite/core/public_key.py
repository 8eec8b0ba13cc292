"""The site's RSA key pair: ``/admin/publicKey`` and credentials sent with ``encrypted=true``.

ArcGIS clients (published administration libraries, the Server Manager of old) fetch
``publicKey`` (the exponent and the modulus, in hex) and send ``username``, ``password`` and the
other token parameters each RSA-encrypted with PKCS#1 v1.5 and hex-encoded, with
``encrypted=true``, so that a password does not cross plain HTTP in the clear. Here:

- the key pair (2048 bits) is made with the site, or on first use by a site made before it;
  ``SiteStore.add_setting`` makes the workers agree on one pair. The private key lives in the
  site's store (a file only the server's user may read), never in a backup.
- a machine that belongs to no site yet answers ``publicKey`` from a pair of its own
  (:class:`MachineKeyFile`, a file only the server's user may read), so that ``createNewSite``
  takes the new administrator's credentials encrypted too; the site it creates adopts that
  pair (a client that fetched the key before goes on using it) and the file is removed.
- ``rotate`` makes a new pair at once: what was encrypted with the old one no longer
  decrypts (clients fetch the key before each login, as Esri's own software does).
- a value that is not hex, or not of the key's length, or whose plaintext is not UTF-8, is a
  400 that names the parameter. The OpenSSL that ``cryptography`` ships rejects bad padding
  implicitly (a pseudo-random plaintext, not an error: no padding oracle), so a wrong
  ciphertext mostly fails as text, and otherwise as wrong credentials: a 400 either way.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from geosite.core import sealing
from geosite.core.clock import Clock
from geosite.errors import BadRequest
from geosite.files import FILE_MODE, private_dir

SETTING = "security.rsaKeyPair"
#: What the private key is sealed as in the store (``geosite.core.sealing``).
_PURPOSE = "publicKey private key"
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


class KeySettings(Protocol):
    """Where a key pair is kept: the site's store (``SiteStore``) or a machine's file."""

    def get_setting(self, key: str) -> object | None:
        """The JSON value kept under ``key``, or None."""

    def add_setting(self, key: str, value: dict[str, object]) -> object:
        """Keep ``value`` unless ``key`` holds one already; the value kept."""

    def put_setting(self, key: str, value: dict[str, object]) -> None:
        """Keep ``value`` under ``key`` in place of what was there."""


class MachineKeyFile:
    """The key pair of a machine that belongs to no site, in one JSON file (mode 0600).

    ``add_setting`` creates the file exclusively, so that the worker processes of one machine
    agree on one pair, as ``SiteStore.add_setting`` makes them agree on the site's.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def get_setting(self, key: str) -> object | None:
        """The JSON value kept under ``key``, or None (no file, or not ours)."""
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return stored.get(key) if isinstance(stored, dict) else None

    def add_setting(self, key: str, value: dict[str, object]) -> object:
        """Create the file with ``value`` unless another worker did first; the value kept."""
        private_dir(self.path.parent)
        try:
            handle = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            found = self.get_setting(key)
            return found if found is not None else value
        with os.fdopen(handle, "w") as out:
            json.dump({key: value}, out)
        return value

    def put_setting(self, key: str, value: dict[str, object]) -> None:
        """Replace the file atomically (a rotation before the site exists)."""
        private_dir(self.path.parent)
        staged = self.path.with_suffix(".tmp")
        handle = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(handle, "w") as out:
            json.dump({key: value}, out)
        os.replace(staged, self.path)

    def remove(self) -> None:
        """Forget the pair (once a site has adopted it)."""
        self.path.unlink(missing_ok=True)


class SiteKeys:
    """A key pair, read from where it is kept (parsed keys are kept by their PEM text)."""

    def __init__(self, store: KeySettings, clock: Clock) -> None:
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

    def _stored(self, pair: KeyPair) -> dict[str, object]:
        """The setting's JSON, the private key sealed with the site key (when it has one)."""
        sealed = sealing.of(self._store).seal(pair.current, _PURPOSE)
        return KeyPair(sealed, pair.created_ms).stored()

    def _opened(self, raw: object) -> KeyPair | None:
        found = _pair(raw)
        if found is None:
            return None
        return KeyPair(sealing.of(self._store).open(found.current, _PURPOSE), found.created_ms)

    def pair(self) -> KeyPair:
        """The stored pair; made now when the site has none."""
        found = self._opened(self._store.get_setting(SETTING))
        if found is not None:
            return found
        made = KeyPair(_new_pem(), self._clock.now_ms())
        stored = self._opened(self._store.add_setting(SETTING, self._stored(made)))
        return stored if stored is not None else made

    def public(self) -> dict[str, str]:
        """``{publicKey, modulus}`` as ArcGIS answers them: lowercase hex, no prefix."""
        numbers = self._key(self.pair().current).public_key().public_numbers()
        return {"publicKey": format(numbers.e, "x"), "modulus": format(numbers.n, "x")}

    def adopt(self, pair: KeyPair) -> None:
        """Keep ``pair`` as the current one (a new site takes its machine's pair)."""
        self._store.put_setting(SETTING, self._stored(pair))

    def rotate(self) -> None:
        """A new pair in place of the current one."""
        self._store.put_setting(SETTING, self._stored(KeyPair(_new_pem(), self._clock.now_ms())))

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
