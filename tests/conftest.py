"""Shared fixtures: a real site served over loopback HTTP and HTTPS, in this process."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import tempfile
import threading
import time
from collections.abc import Coroutine, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from geosite.core.clock import AdjustableClock
from geosite.core.models import LockoutPolicy
from geosite.core.site import SiteRequest, create_site
from geosite.core.tls import ensure_certificate
from geosite.http.app import create_app
from geosite.settings import Settings
from geosite.storage import load_stores
from tests import pg
from tests.pg import PgServer

# Every error answer any test sees is checked for what it must never carry (issue 16): a
# file-system path, SQL text or a traceback. The test that saw one fails. (A client's own
# words quoted back, such as an unknown field "x UNION SELECT sqlite_version()", are none.)
PRIVATE_TEXT = re.compile(
    r"/tmp/|/work/|/home/|/var/|/private/|[\w.-]+/[\w./-]*\.gpkg\b|Traceback|File \""
    r"|\bSELECT\b.*\bFROM\b|\bsqlite3_\w+"
)
_LEAKS: list[str] = []


def _error_texts(value: Any, inside_error: bool = False) -> Iterator[str]:
    """The strings inside the error envelopes (and per-item errors) of a JSON answer."""
    if isinstance(value, dict):
        inside = inside_error or value.get("status") in ("error", "esriJobFailed", "FAILED")
        for key, item in value.items():
            yield from _error_texts(item, inside or key in ("error", "errors", "failure"))
    elif isinstance(value, list):
        for item in value:
            yield from _error_texts(item, inside_error)
    elif isinstance(value, str) and inside_error:
        yield value


def _check_answer(response: httpx.Response) -> None:
    try:
        content = response.content
    except httpx.ResponseNotRead:  # a streamed answer: not an error envelope
        return
    if b'"error"' not in content and b"Failed" not in content and b"FAILED" not in content:
        return
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return
    for text in _error_texts(body):
        if PRIVATE_TEXT.search(text):
            _LEAKS.append(f"{response.request.method} {response.request.url.path}: {text!r}")


_plain_send = httpx.Client.send
_plain_async_send = httpx.AsyncClient.send


def _checked_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
    response = _plain_send(self, request, **kwargs)
    if not kwargs.get("stream"):
        _check_answer(response)
    return response


async def _checked_async_send(
    self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
) -> httpx.Response:
    response = await _plain_async_send(self, request, **kwargs)
    if not kwargs.get("stream"):
        _check_answer(response)
    return response


httpx.Client.send = _checked_send  # type: ignore[method-assign]
httpx.AsyncClient.send = _checked_async_send  # type: ignore[method-assign]


def _fail_on_leaks(phase: str) -> None:
    if _LEAKS:
        seen = "\n".join(_LEAKS[:5])
        _LEAKS.clear()
        pytest.fail(f"An error answer carried a server path, SQL or a traceback ({phase}):\n{seen}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    _LEAKS.clear()
    yield
    _fail_on_leaks("setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield
    _fail_on_leaks("test")


ADMIN_USER = "siteadmin"
ADMIN_PASSWORD = "s3cret-Password!"
MACHINE = "TESTMACHINE.EXAMPLE"


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run the servers on uvloop, as ``geosite serve`` does (asyncio's loop is the fallback)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@dataclass
class LiveSite:
    """A geosite app served on loopback ports from a background thread."""

    data_dir: Path
    clock: AdjustableClock
    settings: Settings
    http: str = ""
    https: str = ""
    _servers: list[uvicorn.Server] = field(default_factory=list)
    _thread: threading.Thread | None = None

    @property
    def admin(self) -> str:
        return self.http + self.settings.context_path + "/admin"

    def start(self) -> LiveSite:
        cert, key = ensure_certificate(self.data_dir / "tls", MACHINE)
        socks = [_listen(), _listen()]
        ports = [int(sock.getsockname()[1]) for sock in socks]
        self.http = f"http://127.0.0.1:{ports[0]}"
        self.https = f"https://127.0.0.1:{ports[1]}"
        # The real ports: redirects to HTTPS name this machine's HTTPS port.
        self.settings = replace(self.settings, port=ports[0], https_port=ports[1])
        app = create_app(self.settings, self.clock)
        common = {
            "log_level": "warning",
            "access_log": False,
            "http": "httptools",
            "proxy_headers": False,  # as geosite serve: the app decides whom to believe
        }
        self._servers = [
            _QuietServer(uvicorn.Config(app, lifespan="on", **common)),
            _QuietServer(
                uvicorn.Config(
                    app, lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key), **common
                )
            ),
        ]

        async def run() -> None:
            await asyncio.gather(
                *(s.serve(sockets=[k]) for s, k in zip(self._servers, socks, strict=True))
            )

        self._thread = threading.Thread(target=_run_loop, args=(run(),), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not all(s.started for s in self._servers):
            if time.monotonic() > deadline:
                raise RuntimeError("live site did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    def token(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
        answer = httpx.post(
            self.admin + "/generateToken",
            data={"username": username, "password": password, "client": "requestip", "f": "json"},
        ).json()
        return str(answer["token"])

    def flush_logs(self) -> None:
        state = self._app_state()
        if state.runtime is not None:
            state.runtime.log.flush()

    def _app_state(self):  # type: ignore[no-untyped-def]
        return self._servers[0].config.app.state.geosite

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self._app_state().require_site().site.store

    @property
    def log_store(self):  # type: ignore[no-untyped-def]
        return self._app_state().require_site().site.logs


#: The services the tests publish go into PostGIS (``GEOSITE_TEST_FEATURE_DATA=postgis``, the
#: second pass of ``make test``); else into GeoPackages, as by default.
ON_POSTGIS = pg.on_postgis()
#: For the tests that read a service's GeoPackage file itself (SQLite's own checks, bytes
#: written behind the server's back); their HTTP-level twins run on both backends.
geopackage_only = pytest.mark.skipif(
    ON_POSTGIS, reason="reads the service's GeoPackage file (GEOSITE_TEST_FEATURE_DATA=postgis)"
)


def feature_data_store() -> str | None:
    """The data store of the sites the tests start: None (GeoPackages), or with
    ``GEOSITE_TEST_FEATURE_DATA=postgis`` a database of the session's PostGIS server
    (started on first use; the test skips, with the reason, where none can run)."""
    if not ON_POSTGIS:
        return None
    why = pg.missing()
    if why is not None:
        pytest.skip(why)
    return pg.feature_store()


@pytest.fixture(scope="session", autouse=True)
def _feature_store() -> Iterator[None]:
    """Stop the PostGIS server the sites published into, if one was started."""
    yield
    pg.stop_feature_store()


def make_site(
    data_dir: Path,
    *,
    create: bool = True,
    lockout: LockoutPolicy | None = None,
    config_store: str | None = None,
    **overrides: Any,
) -> LiveSite:
    clock = AdjustableClock()
    settings = Settings(
        data_dir=data_dir,
        machine_name=MACHINE,
        started_ms=clock.now_ms(),
        lockout=lockout or LockoutPolicy(),
        max_body_bytes=2 * 1024 * 1024,
        max_param_bytes=256 * 1024,
    )
    if "data_store" not in overrides:
        overrides["data_store"] = feature_data_store()
    settings = replace(settings, **overrides)
    if create:
        create_site(
            data_dir,
            # FINE: the tests read the per-request records (the default is WARNING).
            SiteRequest(
                username=ADMIN_USER,
                password=ADMIN_PASSWORD,
                log_settings={"logLevel": "FINE"},
                config_store_url=config_store,  # None: SQLite in the data directory
            ),
            clock,
            admin_url=f"http://{MACHINE.lower()}:6080/arcgis/admin",
            machine_name=MACHINE,
            machine_properties={"ports": {"HTTPPort": 6080, "HTTPSPort": 6443}},
            open_stores=load_stores,
        )
    return LiveSite(data_dir, clock, settings).start()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site shared by the tests of one module."""
    live = make_site(tmp_path_factory.mktemp("site"))
    yield live
    live.stop()


@pytest.fixture
def fresh_site(tmp_path: Path) -> Iterator[LiveSite]:
    """A site of the test's own (for tests that change state, such as lockouts)."""
    live = make_site(tmp_path / "site")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def admin_token(site: LiveSite) -> str:
    return site.token()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """One PostgreSQL server with PostGIS for the session (``tests/pg.py``); each user makes
    its own database with ``create_database``. Skips, with the reason, where none can run."""
    why = pg.missing()
    if why is not None:
        pytest.skip(why)
    # Not under pytest's basetemp: that folder is private to this user, and as root the
    # server runs as ``postgres``, which must reach its own directory.
    home = Path(tempfile.mkdtemp(prefix="geosite-pg-"))
    server = pg.start_server(home)
    yield server
    server.remove()
