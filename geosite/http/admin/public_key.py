"""``/arcgis/admin/publicKey``: the site's RSA public key, for credentials sent encrypted
(``geosite.core.public_key``), and ``rotate``."""

from __future__ import annotations

from typing import Any

from geosite.http.routing import OPERATION, Call, Endpoint


def public_key(call: Call) -> dict[str, Any]:
    """``GET /admin/publicKey``: ``{publicKey, modulus}`` in hex (no token needed: a client
    reads it before it logs in; a machine with no site answers its own, for createNewSite)."""
    return call.state.keys().public()


def rotate(call: Call) -> dict[str, Any]:
    """``POST /admin/publicKey/rotate``: a new key pair; the old one decrypts nothing more."""
    call.state.require_site().keys.rotate()  # recorded in the log as every change (audit)
    return {"status": "success"}


def _children(call: Call, payload: dict[str, Any]) -> list[str]:
    return []


ENDPOINTS = [
    Endpoint(
        "/publicKey",
        public_key,
        privilege=None,
        needs_site=False,
        title="Public Key",
        children=_children,
        operations=["rotate"],
        description="The RSA public key (exponent and modulus, hexadecimal) to encrypt "
        "credentials with: send username, password and the other generateToken parameters "
        "each encrypted with PKCS#1 v1.5 and hex-encoded, with encrypted=true.",
    ),
    Endpoint(
        "/publicKey/rotate",
        rotate,
        kind=OPERATION,
        title="Rotate",
        description="Makes a new key pair; what was encrypted with the old one no longer "
        "decrypts (clients fetch the key before each login).",
    ),
]
