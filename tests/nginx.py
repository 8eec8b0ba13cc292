"""A real nginx for the tests, unprivileged in a folder of its own, in front of the site the
configuration of ``geosite webadaptor nginx`` names (``.ci/run`` installs Debian's nginx)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

#: An unprivileged nginx with all its files under ``root``; ``http`` is its ``http`` block's
#: own part (servers, or an include). The benchmarks' nginx uses it too.
_MAIN = """worker_processes {workers};
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
{http}
}}
"""


def main_config(root: Path, http: str, workers: int = 1) -> str:
    """nginx.conf for an nginx whose files all live under ``root`` (run as root, its workers
    stay root: they read the test's temporary files), around the ``http`` block's ``http``."""
    user = "user root;" if os.geteuid() == 0 else ""
    return _MAIN.format(root=root, user=user, workers=workers, http=http.rstrip("\n"))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_nginx(root: Path, config: str, base: str, wait_s: float = 30) -> subprocess.Popen[bytes]:
    """Run nginx in ``root`` with ``config`` (what ``geosite webadaptor nginx`` printed),
    checked with ``nginx -t`` first; returns once ``base`` (``http://127.0.0.1:N/arcgis``)
    answers its health check through it."""
    assert NGINX is not None
    root.mkdir(parents=True, exist_ok=True)
    (root / "geosite.conf").write_text(config)
    (root / "nginx.conf").write_text(main_config(root, f"  include {root}/geosite.conf;"))
    command = [NGINX, "-p", str(root), "-c", str(root / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            httpx.get(base + "/rest/info/healthCheck", params={"f": "json"})
            return process
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("nginx did not start") from None
            time.sleep(0.2)
