"""Self-contained tokens, signed with the site secret.

A token is ``base64url(payload) "." base64url(HMAC-SHA256(secret, payload))``. The payload
binds the token to its expiry, its client (an IP address or a referer), the user (its name and
its random identifier, made with the user and never reused, so that a removed user's token
never fits a later user of the same name), the user's credential version (so a password or role
change ends the user's tokens) and the version of the signing key (so rotating the key ends
every token). A token without the identifier (made by geosite before it had one) is invalid.
Nothing is kept per token on the server, so every worker and every machine of the site
verifies a token with the shared secret alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable

import orjson

from geosite.core.models import TokenClaims
from geosite.errors import CLIENT_MISMATCH, EXPIRED_TOKEN, InvalidParameter, InvalidToken

CLIENT_IP = "ip"
CLIENT_REFERER = "referer"

_MAX_TOKEN_LENGTH = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: What a token signing key is sealed as in the store (``geosite.core.sealing``).
KEY_PURPOSE = "token signing key"


def new_secret() -> str:
    """Return a fresh 256-bit signing secret."""
    return secrets.token_hex(32)


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def issue(claims: TokenClaims, secret: str) -> str:
    """Return the signed token for ``claims``."""
    body = {
        "u": claims.username,
        "i": claims.user_id,
        "e": claims.expires_ms,
        "c": claims.client,
        "b": claims.binding,
        "v": claims.token_version,
        "k": claims.key_version,
        "n": secrets.token_urlsafe(12),
    }
    payload = _b64(orjson.dumps(body))
    return f"{payload}.{_signature(secret, payload)}"


def nonce_of(token: str) -> str:
    """Return the token's random nonce (used to derive its CSRF token); '' when unreadable."""
    try:
        return str(orjson.loads(_unb64(token.split(".", 1)[0])).get("n", ""))
    except (ValueError, binascii.Error, AttributeError):
        return ""


def verify(
    token: str,
    secret_for: Callable[[int], str | None],
    now_ms: int,
    client_ip: str,
    referer: str,
) -> TokenClaims:
    """Check the signature, expiry and client binding of ``token`` and return its claims.

    ``secret_for(key_version)`` returns the signing secret of that version, or None when the
    version is unknown (rotated away). Raises ``InvalidToken`` with ArcGIS's texts.
    """
    if len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise InvalidToken()
    payload, signature = token.split(".")
    try:
        body = orjson.loads(_unb64(payload))
        key_version = int(body["k"])
        claims = TokenClaims(
            username=str(body["u"]),
            expires_ms=int(body["e"]),
            client=str(body["c"]),
            binding=str(body["b"]),
            token_version=int(body["v"]),
            key_version=key_version,
            user_id=str(body["i"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidToken() from None
    secret = secret_for(key_version)
    if secret is None or not hmac.compare_digest(_signature(secret, payload), signature):
        raise InvalidToken()
    if now_ms >= claims.expires_ms:
        raise InvalidToken(EXPIRED_TOKEN)
    if not binding_matches(claims, client_ip, referer):
        raise InvalidToken(CLIENT_MISMATCH)
    return claims


def binding_matches(claims: TokenClaims, client_ip: str, referer: str) -> bool:
    """Whether the request's IP or Referer matches the client the token was issued to."""
    if claims.client == CLIENT_IP:
        return hmac.compare_digest(claims.binding, client_ip)
    if claims.client == CLIENT_REFERER:
        return bool(referer) and referer.startswith(claims.binding)
    return False


def resolve_binding(client: str, referer: str, ip: str, request_ip: str) -> tuple[str, str]:
    """Turn generateToken's ``client``/``referer``/``ip`` into a (kind, value) binding.

    ``requestip`` binds to the address the request came from; ``ip`` to the given address;
    ``referer`` (also spelled ``referrer``) to the given referer.
    """
    kind = (client or "requestip").strip().lower()
    if kind == "requestip":
        return CLIENT_IP, request_ip
    if kind == "ip":
        if not ip:
            raise InvalidParameter("Unable to generate token.", details=["'ip' must be specified."])
        return CLIENT_IP, ip.strip()
    if kind in ("referer", "referrer"):
        if not referer:
            raise InvalidParameter(
                "Unable to generate token.", details=["'referer' must be specified."]
            )
        return CLIENT_REFERER, referer.strip()
    raise InvalidParameter(
        "Unable to generate token.",
        details=["'client' must be one of requestip, ip or referer."],
    )
