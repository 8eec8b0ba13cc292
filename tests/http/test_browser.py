"""The Administrator Directory in a real browser (headless Chromium)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LiveSite

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,800",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_page_renders_without_policy_violations(
    site: LiveSite, admin_token: str, tmp_path: Path
) -> None:
    url = f"{site.http}/arcgis/admin/machines/TESTMACHINE.EXAMPLE?token={admin_token}"
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert "TESTMACHINE.EXAMPLE" in dom.stdout
    assert "Child Resources" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console  # a CSP violation or a script error would show here
    shot = tmp_path / "page.png"
    _chromium(tmp_path, f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # styled text, not a blank page


def test_login_in_the_browser_page(site: LiveSite, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", site.http + "/arcgis/admin/")
    assert 'type="password"' in dom.stdout
    assert not [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
