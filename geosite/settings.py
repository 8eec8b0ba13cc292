"""Configuration of one geosite process: one typed object, built once and passed down."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from geosite.core.models import LockoutPolicy

_CONTEXT_SEGMENT = re.compile(r"^[A-Za-z0-9_.~-]+$")


def normalize_context_path(value: str) -> str:
    """``/arcgis`` from ``arcgis``, ``/arcgis/`` or ``/arcgis``; ValueError when unusable."""
    segments = [s for s in value.strip().split("/") if s]
    if not segments or not all(_CONTEXT_SEGMENT.match(s) for s in segments):
        raise ValueError(
            f"Invalid context path '{value}': one or more segments of letters, digits, "
            "'_', '.', '~' or '-', such as /arcgis or /server."
        )
    if any(s in (".", "..") for s in segments):
        raise ValueError(f"Invalid context path '{value}'.")
    return "/" + "/".join(segments)


def split_list(value: str) -> tuple[str, ...]:
    """The items of a comma- or space-separated list."""
    return tuple(item for item in re.split(r"[,\s]+", value.strip()) if item)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    """Networks from addresses or CIDR blocks; ValueError names a bad item."""
    networks: list[Network] = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"Invalid trusted proxy address '{item}'.") from None
    return tuple(networks)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class Settings:
    """Everything ``geosite serve`` and ``create_app`` need to know.

    Every field can also be set from an environment variable named ``GEOSITE_<FIELD>``
    (documented in ``docs/configuration.md``).
    """

    data_dir: Path = Path("geosite-data")
    host: str = "127.0.0.1"
    port: int = 6080
    https_port: int = 6443
    workers: int = 1
    admin_user: str = "siteadmin"
    admin_password: str | None = None
    no_site: bool = False
    #: While this machine waits with no site: the code ``machines/register`` must give
    #: (``joinCode``) for the site to pull it in; None: any site's administrator may.
    join_code: str | None = None
    #: Certificates (PEM) that other machines' HTTPS certificates are verified against when
    #: joining or registering; None: not verified (machines' certificates are self-signed).
    join_ca_file: Path | None = None
    machine_name: str | None = None
    started_ms: int = 0
    max_body_bytes: int = 10 * 1024 * 1024
    max_param_bytes: int = 10 * 1024 * 1024  # applyEdits of 10,000 features is ~1 MB
    max_fields: int = 1000
    max_upload_bytes: int = 1024 * 1024 * 1024
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    #: Feature queries run at once per worker on a machine with a PostGIS data store (they
    #: mostly wait for the database); on GeoPackage data, one at a time.
    query_threads: int = 3
    #: Addresses or networks allowed to read ``/arcgis/admin/metrics`` without a token (a
    #: Prometheus server); administrators may read it with theirs.
    metrics_addresses: tuple[str, ...] = ()
    #: Seconds without a heartbeat (each worker beats every 15 s) after which another
    #: machine is shown as not responding (``realTimeState`` STOPPED) until it beats again.
    machine_timeout_s: int = 60
    #: The PostgreSQL database (with PostGIS) new services are published into, as a
    #: ``postgresql://`` URL; None: each service gets a GeoPackage in the data directory.
    data_store: str | None = None
    #: The URL path the site answers under (``/arcgis``; ArcGIS Enterprise uses ``/server``).
    context_path: str = "/arcgis"
    #: Addresses or networks of reverse proxies whose ``X-Forwarded-*``/``Forwarded``
    #: headers are believed (nobody's by default).
    trusted_proxies: tuple[str, ...] = ()
    #: Which headers those proxies set: ``x-forwarded`` (``X-Forwarded-*``) or ``forwarded``.
    proxy_headers: str = "x-forwarded"
    #: A certificate and key (PEM) for the HTTPS listener instead of the self-signed pair.
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Lines on stdout: ``text`` or ``json`` (one object per line).
    log_format: str = "text"
    #: One line per request on stdout (``geosite.access``).
    access_log: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``GEOSITE_*`` environment variables, with defaults for the rest."""
        defaults = cls()
        return cls(
            data_dir=Path(os.environ.get("GEOSITE_DATA_DIR", str(defaults.data_dir))),
            host=os.environ.get("GEOSITE_HOST", defaults.host),
            port=_env_int("GEOSITE_PORT", defaults.port),
            https_port=_env_int("GEOSITE_HTTPS_PORT", defaults.https_port),
            workers=_env_int("GEOSITE_WORKERS", defaults.workers),
            admin_user=os.environ.get("GEOSITE_ADMIN_USER", defaults.admin_user),
            admin_password=os.environ.get("GEOSITE_ADMIN_PASSWORD") or None,
            join_code=os.environ.get("GEOSITE_JOIN_CODE") or None,
            join_ca_file=Path(os.environ["GEOSITE_JOIN_CA"])
            if os.environ.get("GEOSITE_JOIN_CA")
            else None,
            machine_name=(os.environ.get("GEOSITE_MACHINE_NAME") or "").upper() or None,
            max_body_bytes=_env_int("GEOSITE_MAX_BODY_BYTES", defaults.max_body_bytes),
            max_param_bytes=_env_int("GEOSITE_MAX_PARAM_BYTES", defaults.max_param_bytes),
            max_upload_bytes=_env_int("GEOSITE_MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            data_store=os.environ.get("GEOSITE_DATA_STORE") or None,
            metrics_addresses=split_list(os.environ.get("GEOSITE_METRICS_ADDRESSES", "")),
            query_threads=max(
                1, min(32, _env_int("GEOSITE_QUERY_THREADS", defaults.query_threads))
            ),
            machine_timeout_s=_env_int("GEOSITE_MACHINE_TIMEOUT_S", defaults.machine_timeout_s),
            context_path=normalize_context_path(
                os.environ.get("GEOSITE_CONTEXT_PATH", defaults.context_path)
            ),
            trusted_proxies=split_list(os.environ.get("GEOSITE_TRUSTED_PROXIES", "")),
            proxy_headers=(
                os.environ.get("GEOSITE_PROXY_HEADERS") or defaults.proxy_headers
            ).lower(),
            log_format=(os.environ.get("GEOSITE_LOG_FORMAT") or defaults.log_format).lower(),
            access_log=os.environ.get("GEOSITE_ACCESS_LOG", "").strip().lower()
            in ("1", "true", "yes", "on"),
            lockout=LockoutPolicy(
                max_failures=_env_int("GEOSITE_LOCKOUT_FAILURES", 5),
                window_s=_env_int("GEOSITE_LOCKOUT_WINDOW_S", 900),
                lock_s=_env_int("GEOSITE_LOCKOUT_DURATION_S", 900),
                max_failures_per_address=_env_int("GEOSITE_LOCKOUT_ADDRESS_FAILURES", 100),
            ),
        )
