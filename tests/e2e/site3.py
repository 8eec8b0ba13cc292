"""A site of several real ``geosite serve`` machines on one PostgreSQL configuration store and
PostGIS data store, behind a real nginx configured by ``geosite webadaptor nginx``.

Each machine runs in a process group of its own (``--workers`` children included), so that
``kill`` can end it as a crash would (SIGKILL to the whole group) and ``restart`` bring it
back on the same data directory and ports. Their output is read by a thread all along (a long
run must never block a machine on a full pipe).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from geosite.cli import main
from tests.e2e.test_serve import PASSWORD, Server
from tests.nginx import NGINX, free_port, start_nginx

USER = "siteadmin"


class Machine(Server):
    """One machine of the site: a ``geosite serve`` process group whose output is drained."""

    def __init__(
        self, name: str, data_dir: Path, args: Sequence[str], ports: tuple[int, int] | None
    ) -> None:
        self.name = name
        self.data_dir = data_dir
        self.args = tuple(args)
        env = {"GEOSITE_MACHINE_NAME": name}
        super().__init__(data_dir, *args, env=env, ports=ports, new_session=True)
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        for line in stream:
            self._lines.append(line)

    def kill(self) -> None:
        """SIGKILL to the machine's whole process group: the supervisor and its workers."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> str:
        reader: threading.Thread | None = getattr(self, "_reader", None)
        if reader is None:  # it did not start: Server's own stop reads what it said
            return super().stop()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.output = "".join(self._lines)
        return self.output

    def restart(self) -> Machine:
        """The same machine again: same name, data directory, arguments and ports."""
        self.stop()
        return Machine(self.name, self.data_dir, self.args, (self.port, self.https_port))


@dataclass
class Site:
    """Machines on one store, with nginx in front at ``base`` (``http://127.0.0.1:N/arcgis``)."""

    machines: list[Machine]
    root: Path
    base: str = ""
    nginx: subprocess.Popen[bytes] | None = None
    config: str = ""
    _token: str = field(default="", repr=False)

    @property
    def admin(self) -> str:
        return self.machines[0].url + "/arcgis/admin"

    def token(self) -> str:
        if not self._token:
            self._token = self.machines[0].token()
        return self._token

    def start_nginx(self) -> None:
        """Point each machine's adminURL at its loopback port, render the configuration with
        ``geosite webadaptor nginx`` and start nginx on it."""
        assert NGINX is not None
        token = self.token()
        for machine in self.machines:
            edited = httpx.post(
                f"{self.admin}/machines/{machine.name}/edit",
                data={
                    "f": "json",
                    "token": token,
                    "adminURL": f"{machine.url}/arcgis/admin",
                    "HTTPPort": str(machine.port),
                    "HTTPSPort": str(machine.https_port),
                },
                timeout=30,
            ).json()
            assert edited == {"status": "success"}, edited
        listen = free_port()
        result = CliRunner().invoke(
            main,
            ["webadaptor", "nginx", "--listen", f"127.0.0.1:{listen}"],
            env={
                "GEOSITE_USER": USER,
                "GEOSITE_PASSWORD": PASSWORD,
                "GEOSITE_URL": self.machines[0].url + "/arcgis",
                "GEOSITE_CONFIG_DIR": str(self.root / "cli"),
            },
        )
        assert result.exit_code == 0, result.output
        self.config = result.output
        for machine in self.machines:
            assert f"server 127.0.0.1:{machine.port} " in self.config, self.config
        self.base = f"http://127.0.0.1:{listen}/arcgis"
        self.nginx = start_nginx(self.root / "nginx", self.config, self.base)

    def nginx_errors(self) -> str:
        log = self.root / "nginx" / "error.log"
        return log.read_text() if log.exists() else ""

    def close(self) -> None:
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(10)
        for machine in self.machines:
            machine.stop()


def start_site(
    root: Path, config_store: str, data_store: str, count: int = 3, workers: int = 2
) -> Site:
    """``count`` machines (``MACHINE1``...): the first creates the site on ``config_store``
    and ``data_store``; the others join it with ``geosite serve --join`` (and so take the
    stores and the site key from it), one after the other."""
    site = Site([], root)
    common = ["--workers", str(workers), "--trusted-proxies", "127.0.0.1"]
    try:
        first = [
            "--admin-password",
            PASSWORD,
            "--config-store",
            config_store,
            "--data-store",
            data_store,
            *common,
        ]
        site.machines.append(Machine("MACHINE1", root / "m1", first, None))
        join = f"{site.machines[0].secure_url}/arcgis/admin"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("GEOSITE_JOIN_PASSWORD", PASSWORD)
            patch.setenv("GEOSITE_DATA_STORE", "")  # the site's, not the test pass's
            for number in range(2, count + 1):
                args = ["--join", join, "--user", USER, *common]
                machine = Machine(f"MACHINE{number}", root / f"m{number}", args, None)
                site.machines.append(machine)
                wait_until_joined(machine)
    except BaseException:
        site.close()
        raise
    return site


def wait_until_joined(machine: Machine, deadline_s: float = 90) -> None:
    """Wait until ``machine`` (started with ``--join``) belongs to the site."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        info = httpx.get(machine.url + "/arcgis/admin/joinInfo", params={"f": "json"}).json()
        if info.get("site") is True:
            return
        if machine.process.poll() is not None:
            raise RuntimeError("the machine did not join: " + machine.stop())
        time.sleep(0.2)
    raise RuntimeError("the machine did not join in time: " + machine.stop())
