"""``geosite serve``: run a machine of a site, with HTTP and HTTPS listeners and N workers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import shutil
import signal
import socket
import ssl
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import psycopg
import uvicorn
from prometheus_client.multiprocess import mark_process_dead

from geosite.cli.demo import publish_demo
from geosite.cli.join import Joiner, join_password
from geosite.cli.upgrade import upgrade_stores
from geosite.core import log_output, machines
from geosite.core.clock import SystemClock
from geosite.core.logs import DEFAULT_LEVEL, LEVELS
from geosite.core.passwords import generate_password
from geosite.core.site import (
    SiteRequest,
    create_site,
    local_machine_name,
    read_pointer,
    secure_site,
)
from geosite.core.tls import ensure_certificate
from geosite.errors import GeositeError
from geosite.files import private_dir, private_umask
from geosite.http.app import create_app
from geosite.settings import Settings, normalize_context_path, parse_networks, split_list
from geosite.storage import display_url, is_postgresql, load_stores


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us (two servers share one process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio's loop (the fallback without uvloop) turns Nagle off only on
    # connections whose socket says TCP; otherwise keep-alive requests wait ~40 ms on ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # Not listened on here: each worker's server listens once it can answer (asyncio's and
    # uvloop's create_server), so while the machine starts, a connection is refused and a
    # balancer goes to another machine at once, instead of waiting out the start.
    sock.set_inheritable(True)
    return sock


async def _serve(settings: Settings, sockets: list[socket.socket], cert: Path, key: Path) -> None:
    app = create_app(settings)
    common: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "http": "httptools",
        "timeout_keep_alive": 30,
    }
    servers = [
        _Server(uvicorn.Config(app, lifespan="on", **common)),
        _Server(
            uvicorn.Config(
                app, lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key), **common
            )
        ),
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    def reload_certificate() -> None:
        # New handshakes use the files as they are now; open connections keep theirs.
        context = servers[1].config.ssl
        if context is None:
            return
        try:
            context.load_cert_chain(str(cert), str(key))
        except (ssl.SSLError, OSError) as exc:
            click.echo(f"geosite: certificate not reloaded, the old one stays: {exc}", err=True)
        else:
            click.echo(f"geosite: reloaded the certificate {cert}", err=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload_certificate)
    await asyncio.gather(
        *(s.serve(sockets=[sock]) for s, sock in zip(servers, sockets, strict=True))
    )


def run_worker(settings: Settings, sockets: list[socket.socket], cert: Path, key: Path) -> None:
    """Run one worker process: both listeners on the shared sockets."""
    stop_logging = log_output.configure(settings.log_format, access_log=settings.access_log)
    try:
        import uvloop

        uvloop.run(_serve(settings, sockets, cert, key))
    except ImportError:  # uvloop is optional on platforms without it
        asyncio.run(_serve(settings, sockets, cert, key))
    finally:
        stop_logging()


#: Where prometheus-client's multiprocess mode keeps the workers' metrics.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_directory(settings: Settings) -> None:
    """Workers share their Prometheus metrics through files in a directory of this machine's,
    emptied on each start (prometheus-client's multiprocess mode; set before they start)."""
    directory = settings.data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    private_dir(directory)
    os.environ[MULTIPROC_ENV] = str(directory)


def _supervise(settings: Settings, sockets: list[socket.socket], cert: Path, key: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    stopping = False
    _metrics_directory(settings)

    def start() -> multiprocessing.process.BaseProcess:
        process = ctx.Process(target=run_worker, args=(settings, sockets, cert, key), daemon=False)
        process.start()
        return process

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def on_hangup(signum: int, frame: object) -> None:
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    workers = [start() for _ in range(settings.workers)]
    signal.signal(signal.SIGHUP, on_hangup)
    while not stopping:
        time.sleep(0.5)
        for index, process in enumerate(workers):
            if not process.is_alive() and not stopping:
                if process.pid is not None:
                    mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
                click.echo(
                    f"geosite: worker {process.pid} exited ({process.exitcode}); starting another",
                    err=True,
                )
                workers[index] = start()
    for process in workers:
        if process.is_alive() and process.pid is not None:
            process.terminate()
    for process in workers:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()


def _certificate(settings: Settings) -> tuple[Path, Path]:
    """The certificate and key given with --cert/--key, checked; else where the site keeps one."""
    cert, key = settings.cert_file, settings.key_file
    if cert is None and key is None:
        tls = settings.data_dir / "tls"
        return tls / "server.crt", tls / "server.key"
    if cert is None or key is None:
        raise click.BadParameter("--cert and --key go together.")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise click.BadParameter(f"cannot use {cert} with {key}: {exc}") from None
    return cert.resolve(), key.resolve()


def _bootstrap(
    settings: Settings, machine_name: str, log_level: str, config_store: str | None = None
) -> bool:
    """Create the site on first start (in ``config_store`` when given: a store that holds a
    site already is opened, this machine joining it); True when it was created now."""
    data_dir = settings.data_dir
    if settings.no_site or read_pointer(data_dir) is not None:
        return False
    password = settings.admin_password
    generated = password is None
    if password is None:
        password = generate_password()
    try:
        create_site(
            data_dir,
            SiteRequest(
                username=settings.admin_user,
                password=password,
                log_settings={"logLevel": log_level},
                config_store_url=config_store,
                site_key=os.environ.get("GEOSITE_SITE_KEY") or None,
            ),
            SystemClock(),
            machine_name=machine_name,
            admin_url=machines.own_admin_url(
                settings.host, settings.port, settings.context_path, machine_name
            ),
            machine_properties={
                "ports": {"HTTPPort": settings.port, "HTTPSPort": settings.https_port}
            },
            open_stores=load_stores,
            open_existing=config_store is not None,
        )
    except GeositeError as exc:
        raise click.ClickException(" ".join(exc.messages + exc.details)) from None
    if config_store is not None:
        click.echo(f"The site's configuration store: {display_url(config_store)}")
    click.echo(f"Created a new site in {data_dir.resolve()}")
    click.echo(f"  Primary site administrator: {settings.admin_user}")
    if generated:
        click.echo(f"  Password (shown only this once): {password}")
    return True


def _check_data_store(url: str) -> None:
    """Refuse to start on a data store that cannot serve feature data: it must answer, let the
    user in, and have PostGIS (the password is never shown)."""
    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT postgis_version()")
    except psycopg.errors.UndefinedFunction:
        raise click.BadParameter(
            f"PostGIS is not installed in {display_url(url)} (CREATE EXTENSION postgis).",
            param_hint="--data-store",
        ) from None
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if "password" in reason.lower() and "authentication" not in reason.lower():
            reason = type(exc).__name__
        raise click.BadParameter(
            f"{display_url(url)} cannot be used: {reason[:200]}", param_hint="--data-store"
        ) from None


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("geosite-data"),
    show_default=True,
    envvar="GEOSITE_DATA_DIR",
    help="Where the machine keeps its site.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="GEOSITE_HOST",
    help="Address to listen on.",
)
@click.option("--port", default=6080, show_default=True, envvar="GEOSITE_PORT", help="HTTP port.")
@click.option(
    "--https-port",
    default=6443,
    show_default=True,
    envvar="GEOSITE_HTTPS_PORT",
    help="HTTPS port (self-signed certificate).",
)
@click.option(
    "--admin-user",
    default="siteadmin",
    show_default=True,
    envvar="GEOSITE_ADMIN_USER",
    help="Primary site administrator of a new site.",
)
@click.option(
    "--admin-password",
    envvar="GEOSITE_ADMIN_PASSWORD",
    default=None,
    help="Its password (generated and printed once when omitted).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    envvar="GEOSITE_WORKERS",
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
@click.option(
    "--config-store",
    default=None,
    envvar="GEOSITE_CONFIG_STORE",
    help="The configuration store of a new site: postgresql://user@host:port/database (the "
    "password in ~/.pgpass or PGPASSWORD rather than the URL); a site already there is "
    "opened. Default: SQLite files in the data directory.",
)
@click.option(
    "--data-store",
    default=None,
    envvar="GEOSITE_DATA_STORE",
    help="Publish new services into this PostgreSQL database with PostGIS, one schema each: "
    "postgresql://user@host:port/database (the password in ~/.pgpass or PGPASSWORD rather "
    "than the URL). Give every machine of the site the same. Default: a GeoPackage each.",
)
@click.option(
    "--no-site",
    is_flag=True,
    help="Do not create a site: wait for createNewSite, joinSite or a site's machines/register.",
)
@click.option(
    "--join",
    "join_url",
    default=None,
    envvar="GEOSITE_JOIN",
    help="Join the site of this machine's administrator URL (https://host:6443/arcgis/admin) "
    "on start, as --user (password in GEOSITE_JOIN_PASSWORD, else asked for).",
)
@click.option(
    "--user",
    "join_user",
    default=None,
    envvar="GEOSITE_JOIN_USER",
    help="An administrator of the site that --join names.",
)
@click.option(
    "--join-code",
    default=None,
    envvar="GEOSITE_JOIN_CODE",
    help="Wait with no site for a site's machines/register that gives this joinCode.",
)
@click.option(
    "--join-ca",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    envvar="GEOSITE_JOIN_CA",
    help="Certificates (PEM) that verify other machines' HTTPS when joining or registering "
    "(default: not verified; machines' certificates are self-signed).",
)
@click.option(
    "--log-level",
    type=click.Choice(["OFF", *LEVELS], case_sensitive=False),
    default=DEFAULT_LEVEL,
    show_default=True,
    help="Log level of a new site (FINE records every request; OFF records nothing).",
)
@click.option(
    "--log-format",
    type=click.Choice(log_output.FORMATS, case_sensitive=False),
    default=None,
    help="Log lines on stdout: text, or json (one object per line)  [default: text; "
    "env GEOSITE_LOG_FORMAT].",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="One line per request on stdout: client, method, path, status, duration, request id "
    "[default: off; env GEOSITE_ACCESS_LOG].",
)
@click.option(
    "--context-path",
    default="/arcgis",
    show_default=True,
    envvar="GEOSITE_CONTEXT_PATH",
    help="The URL path the site answers under (/server as ArcGIS Enterprise has it).",
)
@click.option(
    "--trusted-proxies",
    default=None,
    envvar="GEOSITE_TRUSTED_PROXIES",
    help="Addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-* and "
    "Forwarded headers are believed (none by default).",
)
@click.option(
    "--metrics-addresses",
    default=None,
    envvar="GEOSITE_METRICS_ADDRESSES",
    help="Addresses or networks (comma-separated) that may read /arcgis/admin/metrics without "
    "a token, such as a Prometheus server (administrators may, with theirs).",
)
@click.option(
    "--proxy-headers",
    type=click.Choice(["x-forwarded", "forwarded"], case_sensitive=False),
    default="x-forwarded",
    show_default=True,
    envvar="GEOSITE_PROXY_HEADERS",
    help="The headers the trusted proxies set: X-Forwarded-For/Proto/Host/Port, or RFC 7239 "
    "Forwarded (the other family is ignored).",
)
@click.option(
    "--cert",
    "cert_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    envvar="GEOSITE_CERT_FILE",
    help="Certificate chain (PEM) for HTTPS instead of the self-signed one; reloaded on SIGHUP.",
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    envvar="GEOSITE_KEY_FILE",
    help="Its private key (PEM).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="When the site is created, publish the demo services (world countries, world cities, "
    "New York boroughs).",
)
def serve(
    data_dir: Path,
    host: str,
    port: int,
    https_port: int,
    admin_user: str,
    admin_password: str | None,
    workers: int,
    no_site: bool,
    join_url: str | None,
    join_user: str | None,
    join_code: str | None,
    join_ca: Path | None,
    config_store: str | None,
    data_store: str | None,
    log_level: str,
    demo: bool,
    log_format: str | None,
    access_log: bool | None,
    context_path: str,
    trusted_proxies: str | None,
    metrics_addresses: str | None,
    proxy_headers: str,
    cert_file: Path | None,
    key_file: Path | None,
) -> None:
    """Start a geosite machine (creating its site on first start).

    Example: geosite serve --data-dir ./geosite-data --workers 2
    """
    try:
        base = Settings.from_env()
    except ValueError as exc:  # a GEOSITE_* variable that cannot be used
        raise click.BadParameter(str(exc)) from None
    machine_name = base.machine_name or local_machine_name()
    settings = dataclasses.replace(
        base,
        data_dir=data_dir,
        host=host,
        port=port,
        https_port=https_port,
        workers=workers,
        admin_user=admin_user,
        admin_password=admin_password,
        no_site=no_site or bool(join_url) or bool(join_code),
        join_code=join_code or None,
        join_ca_file=join_ca,
        machine_name=machine_name,
        started_ms=SystemClock().now_ms(),
        log_format=(log_format or base.log_format).lower(),
        access_log=base.access_log if access_log is None else access_log,
        data_store=data_store or None,
    )
    try:
        settings = dataclasses.replace(
            settings,
            context_path=normalize_context_path(context_path),
            trusted_proxies=split_list(trusted_proxies or ""),
            metrics_addresses=split_list(metrics_addresses or ""),
            proxy_headers=proxy_headers.lower(),
            cert_file=cert_file,
            key_file=key_file,
        )
        parse_networks(settings.trusted_proxies)
        parse_networks(settings.metrics_addresses)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if settings.log_format not in log_output.FORMATS:
        raise click.BadParameter(
            f"'{settings.log_format}' is not one of {', '.join(log_output.FORMATS)}.",
            param_hint="GEOSITE_LOG_FORMAT",
        )
    joiner = None
    if join_url and read_pointer(data_dir) is None:
        if config_store is not None:
            raise click.BadParameter(
                "a machine that joins takes the site's store", param_hint="--join"
            )
        joiner = Joiner(settings, join_url, join_user or "", join_password(join_user))
    # Everything this process creates is the server user's alone, whatever the umask.
    private_umask()
    cert, key = _certificate(settings)
    # The ports first: a busy port must fail before a site (and its password) is made.
    sockets = [_bind(host, port), _bind(host, https_port)]
    private_dir(data_dir)
    if config_store is not None and not is_postgresql(config_store):
        raise click.BadParameter(
            "a configuration store is postgresql://user@host:port/database",
            param_hint="--config-store",
        )
    if data_store is not None and not is_postgresql(data_store):
        raise click.BadParameter(
            "a data store is postgresql://user@host:port/database", param_hint="--data-store"
        )
    if data_store is not None:
        _check_data_store(data_store)
        click.echo(f"New services are published into: {display_url(data_store)}")
    demo_services: list[str] = []
    if _bootstrap(settings, machine_name, log_level.upper(), config_store) and demo:
        demo_services = publish_demo(data_dir)
        for name in demo_services:
            click.echo(f"  Published the demo service {name}")
    if settings.cert_file is None:
        cert, key = ensure_certificate(data_dir / "tls", machine_name)
    tightened = secure_site(data_dir, load_stores)
    if tightened:
        click.echo(f"Made {tightened} files and folders of the site private (0700/0600).")
    upgrade_stores(data_dir)  # once, before the workers; a store too new stops here
    shown = host if host not in ("0.0.0.0", "::") else "localhost"  # noqa: S104
    ctx = settings.context_path
    click.echo(f"geosite is listening ({workers} worker{'s' if workers > 1 else ''}):")
    click.echo(f"  Manager:                 http://{shown}:{port}{ctx}/manager/")
    click.echo(f"  Administrator Directory: http://{shown}:{port}{ctx}/admin/")
    click.echo(f"                           https://{shown}:{https_port}{ctx}/admin/")
    click.echo(f"  Services Directory:      http://{shown}:{port}{ctx}/rest/services")
    click.echo(f"  Token service:           http://{shown}:{port}{ctx}/tokens/generateToken")
    if "Maps/World (MapServer)" in demo_services:
        world = f"http://{shown}:{port}{ctx}/rest/services/Maps/World/MapServer"
        click.echo(f"  Demo map:                {world}")
    if joiner is not None:
        click.echo(f"  Joining the site of {join_url} as {join_user}.")
    elif read_pointer(data_dir) is None:
        click.echo(
            f"  This machine belongs to no site yet: POST {ctx}/admin/createNewSite or "
            f"{ctx}/admin/joinSite, or a site's machines/register"
            + (" with its join code" if join_code else "")
        )
    else:
        click.echo(
            f"  Command line:            geosite login http://{shown}:{port}{ctx} "
            f"--user {settings.admin_user}"
        )
    sys.stdout.flush()
    if joiner is not None:
        joiner.start()
    if workers == 1:
        run_worker(settings, sockets, cert, key)
    else:
        _supervise(settings, sockets, cert, key)
    if joiner is not None and joiner.status:
        raise SystemExit(joiner.status)
