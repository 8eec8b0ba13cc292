"""``geosite serve``: run a machine of a site, with HTTP and HTTPS listeners and N workers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import uvicorn

from geosite.cli.demo import publish_demo
from geosite.cli.upgrade import upgrade_stores
from geosite.core.clock import SystemClock
from geosite.core.logs import DEFAULT_LEVEL, LEVELS
from geosite.core.passwords import generate_password
from geosite.core.site import SiteRequest, create_site, local_machine_name, read_pointer
from geosite.core.tls import ensure_certificate
from geosite.errors import GeositeError
from geosite.http.app import create_app
from geosite.settings import Settings
from geosite.storage import load_stores


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
    sock.listen(2048)
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

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(
        *(s.serve(sockets=[sock]) for s, sock in zip(servers, sockets, strict=True))
    )


def run_worker(settings: Settings, sockets: list[socket.socket], cert: Path, key: Path) -> None:
    """Run one worker process: both listeners on the shared sockets."""
    try:
        import uvloop

        uvloop.run(_serve(settings, sockets, cert, key))
    except ImportError:  # uvloop is optional on platforms without it
        asyncio.run(_serve(settings, sockets, cert, key))


def _supervise(settings: Settings, sockets: list[socket.socket], cert: Path, key: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = ctx.Process(target=run_worker, args=(settings, sockets, cert, key), daemon=False)
        process.start()
        return process

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    workers = [start() for _ in range(settings.workers)]
    while not stopping:
        time.sleep(0.5)
        for index, process in enumerate(workers):
            if not process.is_alive() and not stopping:
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


def _bootstrap(settings: Settings, machine_name: str, log_level: str) -> bool:
    """Create the site on first start; True when it was created now."""
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
            ),
            SystemClock(),
            machine_name=machine_name,
            admin_url=f"http://{machine_name.lower()}:{settings.port}/arcgis/admin",
            machine_properties={
                "ports": {"HTTPPort": settings.port, "HTTPSPort": settings.https_port}
            },
            open_stores=load_stores,
        )
    except GeositeError as exc:
        raise click.ClickException(" ".join(exc.messages + exc.details)) from None
    click.echo(f"Created a new site in {data_dir.resolve()}")
    click.echo(f"  Primary site administrator: {settings.admin_user}")
    if generated:
        click.echo(f"  Password (shown only this once): {password}")
    return True


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
    "--no-site", is_flag=True, help="Do not create a site: wait for createNewSite over the API."
)
@click.option(
    "--log-level",
    type=click.Choice(["OFF", *LEVELS], case_sensitive=False),
    default=DEFAULT_LEVEL,
    show_default=True,
    help="Log level of a new site (FINE records every request; OFF records nothing).",
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
    log_level: str,
    demo: bool,
) -> None:
    """Start a geosite machine (creating its site on first start).

    Example: geosite serve --data-dir ./geosite-data --workers 2
    """
    base = Settings.from_env()
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
        no_site=no_site,
        machine_name=machine_name,
        started_ms=SystemClock().now_ms(),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    if _bootstrap(settings, machine_name, log_level.upper()) and demo:
        for name in publish_demo(data_dir):
            click.echo(f"  Published the demo service {name} (FeatureServer)")
    cert, key = ensure_certificate(data_dir / "tls", machine_name)
    sockets = [_bind(host, port), _bind(host, https_port)]
    upgrade_stores(data_dir)  # once, before the workers; a store too new stops here
    shown = host if host not in ("0.0.0.0", "::") else "localhost"  # noqa: S104
    click.echo(f"geosite is listening ({workers} worker{'s' if workers > 1 else ''}):")
    click.echo(f"  Administrator Directory: http://{shown}:{port}/arcgis/admin/")
    click.echo(f"                           https://{shown}:{https_port}/arcgis/admin/")
    click.echo(f"  Services Directory:      http://{shown}:{port}/arcgis/rest/services")
    click.echo(f"  Token service:           http://{shown}:{port}/arcgis/tokens/generateToken")
    if read_pointer(data_dir) is None:
        click.echo("  This machine belongs to no site yet: POST /arcgis/admin/createNewSite")
    else:
        click.echo(
            f"  Command line:            geosite login http://{shown}:{port}/arcgis "
            f"--user {settings.admin_user}"
        )
    sys.stdout.flush()
    if workers == 1:
        run_worker(settings, sockets, cert, key)
    else:
        _supervise(settings, sockets, cert, key)
