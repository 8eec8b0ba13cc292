"""Per-process application state: settings, clock, and the site once this machine has one."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from geosite.core import (
    log_settings,
    machines,
    quarantine,
    security_config,
    system_properties,
    usage_reports,
    utilities,
)
from geosite.core.clock import Clock
from geosite.core.logs import LogCode, LogWriter
from geosite.core.public_key import MachineKeyFile, SiteKeys
from geosite.core.security import Authenticator
from geosite.core.security_config import SecurityConfig
from geosite.core.site import POINTER, Site, local_machine_name, read_pointer
from geosite.core.system_properties import SystemProperties
from geosite.core.usage import UsageMeter
from geosite.data import postgis_source
from geosite.errors import InternalError, NoSite
from geosite.http import feature_data, metrics
from geosite.http.data_files import HandleSweeper
from geosite.settings import Settings
from geosite.storage import load_stores

#: How often each worker removes log records older than the site's maxLogFileAge.
PRUNE_INTERVAL_MS = 3600 * 1000
#: How long a worker trusts its copy of the security configuration (other workers' changes
#: apply within this time; this worker's own apply at once).
SECURITY_CONFIG_TTL_S = 1.0
#: The same for a store that announces its changes (PostgreSQL's NOTIFY, with polling while
#: its connection is down): the copy is dropped on each announcement, so this is a backstop.
WATCHED_TTL_S = 60.0
#: How often each worker checks that its machine still belongs to its site (``deleteSite``
#: through another worker removes ``machine.json``).
POINTER_CHECK_S = 1.0


T = TypeVar("T")


class _Shared(Generic[T]):
    """A value of the site store that each worker reads at most once per ``ttl_s``.

    Other workers' changes apply within ``ttl_s``, or within a second when the store announces
    them (``forget``); this worker's own at once. A value read while a change was announced is
    not kept: it may predate the change.
    """

    def __init__(self, load: Callable[[], T], save: Callable[[T], None]) -> None:
        self._load, self._save = load, save
        #: How long a copy is trusted.
        self.ttl_s = SECURITY_CONFIG_TTL_S
        self._cached: tuple[float, T] | None = None
        self._generation = 0

    def get(self) -> T:
        cached, now = self._cached, time.monotonic()
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        generation = self._generation
        value = self._load()
        if generation == self._generation:
            self._cached = (now, value)
        return value

    def forget(self) -> None:
        self._generation += 1
        self._cached = None

    def set(self, value: T) -> None:
        self._save(value)
        self._generation += 1
        self._cached = (time.monotonic(), value)


@dataclass
class SiteRuntime:
    """The open site with the services built on it."""

    site: Site
    auth: Authenticator
    log: LogWriter
    meter: UsageMeter
    _security: _Shared[SecurityConfig] = field(init=False)
    _properties: _Shared[SystemProperties] = field(init=False)
    _machine_state: _Shared[str] = field(init=False)
    #: Closes this worker's handles to the data of deleted and stopped services.
    sweeper: HandleSweeper = field(init=False)
    #: The site's RSA key pair (``/admin/publicKey``, ``encrypted=true``).
    keys: SiteKeys = field(init=False)

    def __post_init__(self) -> None:
        store = self.site.store
        self.keys = SiteKeys(store, self.site.clock)
        self.sweeper = HandleSweeper(store)
        self.sweeper.start()
        self._security = _Shared(
            lambda: security_config.load(store), lambda c: security_config.save(store, c)
        )
        self._properties = _Shared(
            lambda: system_properties.load(store), lambda p: system_properties.save(store, p)
        )
        name = self.site.machine_name

        def save_state(state: str) -> None:
            machines.set_state(store, name, state)

        self._machine_state = _Shared(lambda: machines.configured_state(store, name), save_state)
        # A store that announces changes (PostgreSQL) calls ``store_changed`` within a second
        # of any worker's change; the copies are then kept until the next announcement.
        if store.watch(self.store_changed):
            self._security.ttl_s = self._properties.ttl_s = WATCHED_TTL_S
            self._machine_state.ttl_s = WATCHED_TTL_S

    def store_changed(self) -> None:
        """Another process changed the site store: read the shared settings and the log level
        again (called by the store's watcher thread)."""
        self.reload_settings()
        self.log.refresh_level()

    def reload_settings(self) -> None:
        """Read the shared settings again on next use (after a restore replaced them)."""
        self._security.forget()
        self._properties.forget()
        self._machine_state.forget()

    def security_config(self) -> SecurityConfig:
        """The site's security configuration, read at most once a second per worker."""
        return self._security.get()

    def set_security_config(self, config: SecurityConfig) -> None:
        """Store a new configuration and apply it in this worker at once."""
        self._security.set(config)

    def machine_state(self) -> str:
        """This machine's configured state: ``STARTED``, ``STOPPED`` (an administrator stopped
        it) or ``UNREGISTERED`` (read at most once a second, or at once on a store that
        announces changes)."""
        return self._machine_state.get()

    def machine_state_changed(self) -> None:
        """This worker changed a machine's state: read this machine's again on next use."""
        self._machine_state.forget()

    def system_properties(self) -> SystemProperties:
        """The site's system properties (``WebContextURL``), read at most once a second."""
        return self._properties.get()

    def set_system_properties(self, properties: SystemProperties) -> None:
        """Store new properties and apply them in this worker at once."""
        self._properties.set(properties)


def _tidy(site: Site, log: LogWriter) -> None:
    """On start: move what killed processes left in the data directory into the quarantine,
    and forget the permissions of resources that are gone; each logged as a WARNING."""
    try:
        moved = quarantine.sweep(site.store, site.clock)
        pruned = site.store.prune_permissions()
    except OSError as exc:  # the site serves on; the next start tries again
        print(f"geosite: cannot sweep the services' data directory: {exc}", file=sys.stderr)
        return
    for entry in moved:
        log.log("WARNING", LogCode.QUARANTINED, "Server", entry.message())
    if pruned:
        log.log(
            "WARNING",
            LogCode.PERMISSIONS_PRUNED,
            "Server",
            f"Removed {pruned} permission(s) of folders or services that no longer exist.",
        )


@dataclass
class AppState:
    """What every request of this process shares."""

    settings: Settings
    clock: Clock
    runtime: SiteRuntime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: ThreadPoolExecutor | None = None
    _serial_lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: bool = False
    _last_prune_ms: int = -PRUNE_INTERVAL_MS
    _pointer_checked: float = 0.0

    def serial_executor(self) -> ThreadPoolExecutor:
        """The threads that run ``serial`` endpoints (feature queries) of this process.

        On GeoPackage data, one: queries then do not fight over the GIL (the parallelism
        comes from the worker processes), and its connections' page caches stay warm. A
        machine with a PostGIS data store (``--data-store``) gets ``query_threads`` (3 by
        default), since a PostGIS query mostly waits for the database, with the GIL free.
        """
        with self._serial_lock:  # not self._lock: opening the site holds that one for long
            if self._closing:
                raise InternalError("The server is stopping.")
            if self._serial is None:
                threads = self.settings.query_threads if self.settings.data_store else 1
                self._serial = ThreadPoolExecutor(threads, thread_name_prefix="geosite-query")
            return self._serial

    @property
    def machine_name(self) -> str:
        """This machine's name (from the site when it has one)."""
        if self.runtime is not None:
            return self.runtime.site.machine_name
        return self.settings.machine_name or local_machine_name()

    def open_site(self) -> SiteRuntime | None:
        """Open the site when this machine belongs to one (also after ``createNewSite`` or
        ``joinSite``); None once another process ran ``deleteSite`` (checked each second)."""
        runtime = self.runtime
        if runtime is not None:
            now = time.monotonic()
            if now - self._pointer_checked < POINTER_CHECK_S:
                return runtime
            self._pointer_checked = now
            if (self.settings.data_dir / POINTER).exists():
                return runtime
            self.leave_site(lambda site: None)
        pointer = read_pointer(self.settings.data_dir)
        if pointer is None:
            return None
        with self._lock:
            if self.runtime is None:
                if pointer.data_store and pointer.data_store != self.settings.data_store:
                    # The site's PostGIS database, as the site gave it when this machine joined
                    # (every machine must read the same: it wins over --data-store).
                    self.settings = dataclasses.replace(
                        self.settings, data_store=pointer.data_store
                    )
                local = self.settings.machine_name or local_machine_name()
                site = Site.open(self.settings.data_dir, self.clock, load_stores, local)
                if site is None:
                    return None
                try:
                    log_settings.ensure_log_dir(site.store, site.data_dir)
                except OSError as exc:  # the site serves on; logs/settings shows the path
                    print(f"geosite: cannot make the log directory: {exc}", file=sys.stderr)
                meter = UsageMeter(site.machine_name)
                log = LogWriter(
                    site.logs,
                    self.clock,
                    site.machine_name,
                    site.log_level,
                    on_tick=lambda: self._tick(site),
                    meter=meter,
                )
                self.runtime = SiteRuntime(
                    site, Authenticator(site.store, self.clock, self.settings.lockout), log, meter
                )
                log.log(
                    "INFO",
                    LogCode.SERVER_STARTED,
                    "Server",
                    f"Server process started on machine {site.machine_name}.",
                )
                utilities.ensure(site.store, site.clock)  # for a site made before it existed
                feature_data.install(self.settings, site.store)
                _tidy(site, log)
        return self.runtime

    def _tick(self, site: Site) -> None:
        """The log writer's heartbeat: this machine is alive; old records and counts go hourly."""
        now = self.clock.now_ms()
        site.store.touch_machine(site.machine_name, now)
        metrics.HEARTBEAT.set(now / 1000)
        metrics.pools(postgis_source.pool_stats())
        if now - self._last_prune_ms >= PRUNE_INTERVAL_MS:
            self._last_prune_ms = now
            log_settings.prune(site.store, site.logs, now)
            usage_reports.prune(site.store, site.logs, now)

    def machine_key_file(self) -> MachineKeyFile:
        """Where this machine keeps its key pair while it belongs to no site."""
        return MachineKeyFile(self.settings.data_dir / "machine-key.json")

    def keys(self) -> SiteKeys:
        """The key pair that ``publicKey`` shows and ``encrypted=true`` decrypts with: the
        site's, or this machine's own while it belongs to none (for ``createNewSite``)."""
        runtime = self.open_site()
        if runtime is not None:
            return runtime.keys
        return SiteKeys(self.machine_key_file(), self.clock)

    def require_site(self) -> SiteRuntime:
        """The open site, or ``NoSite`` for a machine that belongs to none."""
        runtime = self.open_site()
        if runtime is None:
            raise NoSite(self.machine_name)
        return runtime

    def leave_site(self, action: Callable[[Site], None]) -> None:
        """Stop this process's use of the site (its log writer and sweeper), run ``action`` on
        it (``deleteSite``'s removal), and close it: the machine then belongs to none."""
        with self._lock:
            runtime, self.runtime = self.runtime, None
            if runtime is None:
                return
            runtime.sweeper.close()
            runtime.log.close()
            try:
                action(runtime.site)
            finally:
                runtime.site.close()

    def close(self) -> None:
        """Flush logs and close the stores."""
        with self._serial_lock:
            self._closing = True
            serial, self._serial = self._serial, None
        if serial is not None:
            serial.shutdown(wait=True)
        if self.runtime is not None:
            self.runtime.log.log(
                "INFO", LogCode.SERVER_STOPPED, "Server", "Server process stopping."
            )
            self.runtime.sweeper.close()
            self.runtime.log.close()
            self.runtime.site.close()
            self.runtime = None
