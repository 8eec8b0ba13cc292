"""``geosite serve`` on a server: private files whatever the umask, ports checked before a site
is made, a real certificate that reloads on SIGHUP, and another context path.

On the main before issue 15: ``site.db`` was created 0644 in 0755 folders (any local account
could read the signing key and the password hashes), a busy port failed only after the site
and its one-time password were made, and neither ``--cert`` nor ``--context-path`` existed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from geosite.core.tls import ensure_certificate
from tests.e2e.test_serve import PASSWORD, Server, _free_port


def _everything(root: Path) -> list[Path]:
    return [root, *root.rglob("*")]


def _loose(root: Path) -> list[str]:
    """Entries that the group or others can reach, with their modes."""
    return [
        f"{path.relative_to(root)} {stat.filemode(path.lstat().st_mode)}"
        for path in _everything(root)
        if not path.is_symlink() and stat.S_IMODE(path.lstat().st_mode) & 0o077
    ]


def _with_umask(mask: int, data_dir: Path, *args: str) -> Server:
    old = os.umask(mask)
    try:
        return Server(data_dir, *args)
    finally:
        os.umask(old)


def _token(server: Server, base: str = "/arcgis") -> str:
    answer = httpx.post(
        server.url + base + "/admin/generateToken",
        data={"username": "siteadmin", "password": PASSWORD, "client": "requestip", "f": "json"},
    ).json()
    return str(answer["token"])


def test_every_file_of_a_new_site_is_private_under_umask_000(tmp_path: Path) -> None:
    data_dir = tmp_path / "site"
    server = _with_umask(0, data_dir, "--admin-password", PASSWORD, "--demo")
    try:
        token = _token(server)
        # An upload and a backup make files of their own.
        upload = httpx.post(
            server.url + "/arcgis/admin/uploads/upload",
            data={"f": "json", "token": token},
            files={"itemFile": ("points.geojson", b'{"type":"FeatureCollection","features":[]}')},
        ).json()
        assert upload.get("status") == "success", upload
        backup = httpx.post(
            server.url + "/arcgis/admin/exportSite", data={"f": "json", "token": token}, timeout=60
        ).json()
        assert backup.get("status") == "success", backup
    finally:
        server.stop()
    names = {p.name for p in _everything(data_dir)}
    assert {"site.db", "logs.db", "server.key", "machine.json"} <= names
    assert any(p.suffix == ".gpkg" for p in data_dir.rglob("*"))
    assert any(p.suffix == ".agssite" for p in data_dir.rglob("*"))
    assert _loose(data_dir) == []


def test_an_existing_site_is_tightened_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "site"
    Server(data_dir, "--admin-password", PASSWORD).stop()
    for path in _everything(data_dir):  # as an older geosite left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert _loose(data_dir)
    server = Server(data_dir)
    output = server.stop()
    assert "private" in output
    assert _loose(data_dir) == []


def test_a_busy_port_fails_before_a_site_is_made(tmp_path: Path) -> None:
    data_dir = tmp_path / "site"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "geosite", "serve", "--data-dir", str(data_dir),
             "--port", str(port), "--https-port", str(_free_port())],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Password" not in result.stdout
    assert not (data_dir / "machine.json").exists()


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` as ``directory/site.crt`` and ``site.key`` (replaced in place)."""
    made_cert, made_key = ensure_certificate(directory / name, name)
    cert_path, key_path = directory / "site.crt", directory / "site.key"
    shutil.copyfile(made_cert, cert_path)
    shutil.copyfile(made_key, key_path)
    return cert_path, key_path


def _served_name(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    cert = x509.load_pem_x509_certificate(pem.encode())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_own_certificate_reloads_on_sighup(tmp_path: Path, workers: str) -> None:
    cert, key = _certificate(tmp_path, "first.example")
    server = Server(
        tmp_path / "site", "--admin-password", PASSWORD, "--cert", str(cert), "--key", str(key),
        "--workers", workers,
    )  # fmt: skip
    try:
        assert _served_name(server.https_port) == "first.example"
        _certificate(tmp_path, "second.example")  # replaced in place, as certbot does
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while _served_name(server.https_port) != "second.example":
            assert time.monotonic() < deadline, "the new certificate was not served"
            time.sleep(0.2)
        # No downtime: the site kept answering.
        assert httpx.get(server.url + "/arcgis/rest/info/healthCheck?f=json").status_code == 200
    finally:
        server.stop()


def test_cert_without_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _certificate(tmp_path, "x.example")
    result = subprocess.run(
        [sys.executable, "-m", "geosite", "serve", "--data-dir", str(tmp_path / "s"),
         "--cert", str(cert)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--cert and --key go together" in result.stderr
    assert not (tmp_path / "s" / "machine.json").exists()


def test_folders_outside_the_site_are_closed_not_rewritten(tmp_path: Path) -> None:
    """A log folder an administrator put elsewhere is made 0700; files below keep their modes."""
    data_dir, shared = tmp_path / "site", tmp_path / "shared-logs"
    shared.mkdir(mode=0o755)
    (shared / "other-program.log").write_text("not geosite's")
    (shared / "other-program.log").chmod(0o644)
    server = Server(data_dir, "--admin-password", PASSWORD)
    try:
        token = _token(server)
        edited = httpx.post(
            server.url + "/arcgis/admin/logs/settings/edit",
            data={"logDir": str(shared), "f": "json", "token": token},
        ).json()
        assert edited.get("status") == "success", edited
    finally:
        server.stop()
    shared.chmod(0o755)
    Server(data_dir).stop()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "other-program.log").stat().st_mode) == 0o644
    assert _loose(data_dir) == []


def test_an_unusable_environment_variable_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "GEOSITE_CONTEXT_PATH": "/a b"}
    result = subprocess.run(
        [sys.executable, "-m", "geosite", "serve", "--data-dir", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Invalid context path" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "s").exists()
