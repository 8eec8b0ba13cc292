"""The site's security configuration (``/admin/security/config``): protocols and admin access.

geosite always enforces tokens with its built-in identity store (``securityEnabled`` true,
``authenticationTier`` GIS_SERVER, ``authenticationMode`` ARCGIS_TOKEN, BUILTIN user and role
stores): an update asking for anything else is refused rather than silently ignored.

What an update can change:

* ``sslEnabled`` / ``httpEnabled``: the protocols. With HTTPS only (``sslEnabled`` true,
  ``httpEnabled`` false) the HTTP listener redirects people to HTTPS and refuses every request
  that carries a token or a password. geosite's HTTPS listener always runs, so "HTTP only"
  means that HTTPS is merely not required.
* ``allowedAdminAccessProtocol``: ``HTTP_AND_HTTPS`` or ``HTTPS`` (the Administrator API only
  over HTTPS).
* ``allowedAdminAccessIPs``: addresses or networks (comma-separated) allowed to use the
  Administrator API; empty allows all. The public token service and REST stay open.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from geosite.errors import InvalidParameter
from geosite.storage.base import SiteStore

SETTING = "securityConfig"
HTTP_AND_HTTPS, HTTPS = "HTTP_AND_HTTPS", "HTTPS"
_FIXED = {
    "securityEnabled": True,
    "authenticationTier": "GIS_SERVER",
    "authenticationMode": "ARCGIS_TOKEN",
}
_MAX_NETWORKS = 256

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SecurityConfig:
    """Protocols and who may reach the Administrator API."""

    ssl_enabled: bool = True
    http_enabled: bool = True
    admin_protocol: str = HTTP_AND_HTTPS
    admin_ips: tuple[str, ...] = ()

    @property
    def https_only(self) -> bool:
        """Whether plain HTTP is turned away for everything."""
        return self.ssl_enabled and not self.http_enabled

    @property
    def protocol(self) -> str:
        """What the Manager and HTML page call the protocol."""
        if self.https_only:
            return "HTTPS only"
        return "HTTP and HTTPS" if self.ssl_enabled else "HTTP only"

    def admin_needs_https(self) -> bool:
        """Whether the Administrator API refuses plain HTTP."""
        return self.https_only or self.admin_protocol == HTTPS

    def admin_ip_allowed(self, address: str) -> bool:
        """Whether ``address`` may use the Administrator API."""
        if not self.admin_ips:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.admin_ips)

    def public(self) -> dict[str, Any]:
        """The configuration as ``GET /admin/security/config`` shows it."""
        return {
            **_FIXED,
            "sslEnabled": self.ssl_enabled,
            "httpEnabled": self.http_enabled,
            "protocol": self.protocol,
            "allowedAdminAccessProtocol": self.admin_protocol,
            "allowedAdminAccessIPs": ",".join(self.admin_ips),
            "virtualDirsSecurityEnabled": False,
            "allowDirectAccess": True,
            "userStoreConfig": {"type": "BUILTIN", "properties": {}},
            "roleStoreConfig": {"type": "BUILTIN", "properties": {}},
        }


def load(store: SiteStore) -> SecurityConfig:
    """The stored configuration (the defaults when none was stored)."""
    raw = store.get_setting(SETTING) or {}
    return SecurityConfig(
        ssl_enabled=bool(raw.get("sslEnabled", True)),
        http_enabled=bool(raw.get("httpEnabled", True)),
        admin_protocol=str(raw.get("allowedAdminAccessProtocol", HTTP_AND_HTTPS)),
        admin_ips=tuple(raw.get("allowedAdminAccessIPs", ())),
    )


def _boolean(raw: dict[str, Any], key: str, current: bool) -> bool:
    value = raw.get(key, current)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise InvalidParameter(f"'{key}' must be true or false.")
    return text == "true"


def _networks(value: Any) -> tuple[str, ...]:
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list) or len(parts) > _MAX_NETWORKS:
        raise InvalidParameter(
            "'allowedAdminAccessIPs' must be addresses or networks separated by commas."
        )
    found: list[str] = []
    for part in parts:
        text = str(part).strip()
        if not text:
            continue
        try:
            found.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise InvalidParameter(f"'{text[:64]}' is not an IP address or network.") from None
    return tuple(found)


def updated(current: SecurityConfig, raw: Any, caller_address: str) -> SecurityConfig:
    """The configuration after ``config/update`` with ``securityConfig`` ``raw``.

    Refuses settings geosite does not offer, a site with neither protocol, and admin address
    rules that would shut out the caller making the change.
    """
    if not isinstance(raw, dict):
        raise InvalidParameter("'securityConfig' must be a JSON object.")
    for key, fixed in _FIXED.items():
        if key in raw and str(raw[key]).strip().lower() != str(fixed).lower():
            raise InvalidParameter(f"geosite supports only {key}={str(fixed).lower()}.")
    for key in ("userStoreConfig", "roleStoreConfig"):
        store_config = raw.get(key)
        if store_config is not None and (
            not isinstance(store_config, dict) or store_config.get("type", "BUILTIN") != "BUILTIN"
        ):
            raise InvalidParameter(f"geosite supports only the BUILTIN {key[:-6]}.")
    ssl_enabled = _boolean(raw, "sslEnabled", current.ssl_enabled)
    http_enabled = _boolean(raw, "httpEnabled", current.http_enabled)
    if not ssl_enabled and not http_enabled:
        raise InvalidParameter("At least one of sslEnabled and httpEnabled must be true.")
    protocol = str(raw.get("allowedAdminAccessProtocol", current.admin_protocol)).strip().upper()
    if protocol not in (HTTP_AND_HTTPS, HTTPS):
        raise InvalidParameter("'allowedAdminAccessProtocol' must be HTTP_AND_HTTPS or HTTPS.")
    if protocol == HTTPS and not ssl_enabled:
        raise InvalidParameter("The Administrator API cannot require HTTPS with SSL disabled.")
    admin_ips = current.admin_ips
    if "allowedAdminAccessIPs" in raw:
        admin_ips = _networks(raw["allowedAdminAccessIPs"])
    result = SecurityConfig(ssl_enabled, http_enabled, protocol, admin_ips)
    if not result.admin_ip_allowed(caller_address):
        raise InvalidParameter(
            f"allowedAdminAccessIPs must include the address of this request "
            f"({caller_address[:64]}): the change would lock you out."
        )
    return result


def save(store: SiteStore, config: SecurityConfig) -> None:
    """Store the configuration; every worker applies it within a second."""
    store.put_setting(
        SETTING,
        {
            "sslEnabled": config.ssl_enabled,
            "httpEnabled": config.http_enabled,
            "allowedAdminAccessProtocol": config.admin_protocol,
            "allowedAdminAccessIPs": list(config.admin_ips),
        },
    )
