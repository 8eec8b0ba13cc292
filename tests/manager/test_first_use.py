"""A first use, as ``make serve`` gives it: the demo site started as a real process, then the
Manager opened from the URL it prints, signed in with the credentials it prints, a file
published by upload and seen on a map, in Chromium, with nothing read but the screen.

Each step's wall time is printed (``pytest -s``) and written to
``$GEOSITE_TEST_ARTIFACTS/manager/first-use.json`` with a screenshot per step; with
``GEOSITE_UPDATE_SCREENSHOTS=1`` the screenshots also replace ``docs/manager/*.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from geosite.demo import DATA_DIR
from tests.manager.conftest import ARTIFACTS, ROOT, TIMEOUT

DOCS = ROOT / "docs" / "manager"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """``geosite serve --demo`` as ``make serve`` runs it, its output read as it comes."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEOSITE_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "geosite", "serve", "--data-dir", str(data_dir),
             "--port", str(_free_port()), "--https-port", str(_free_port()), "--demo",
             "--host", "127.0.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, seconds: float = 180) -> re.Match[str]:
        """The first printed line matching ``pattern``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.process.poll() is not None:
                raise AssertionError("geosite serve exited:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        raise AssertionError(f"geosite serve never printed {pattern!r}:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Serve, float]]:
    started = time.monotonic()
    server = Serve(tmp_path / "geosite-data")
    yield server, started
    server.stop()


def test_a_first_use_from_make_serve(served: tuple[Serve, float], browser: Browser) -> None:
    server, started = served
    steps: list[tuple[str, float]] = []
    shots: list[Path] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def step(name: str) -> None:
        steps.append((name, time.monotonic() - started))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"first-use-{len(steps)}-{name}.png"
        page.screenshot(path=str(shot))
        shots.append(shot)

    try:
        user = server.wait_for(r"Primary site administrator: (\S+)").group(1)
        password = server.wait_for(r"Password \(shown only this once\): (\S+)").group(1)
        url = server.wait_for(r"Manager:\s+(http://\S+)").group(1)
        _wait_until_answering(url)  # the URLs are printed as the workers start
        page.goto(url)
        step("sign-in")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Overview").wait_for()
        page.locator("canvas").first.wait_for()  # the requests chart
        step("overview")
        page.get_by_role("link", name="Publish", exact=True).click()
        page.get_by_role("heading", name="Publish a service").wait_for()
        page.get_by_label("Or choose a file to publish").set_input_files(DATA_DIR / "nybb_16a.zip")
        page.get_by_text("Uploaded nybb_16a.zip.").wait_for()
        page.get_by_label("Service name").fill("Boroughs")
        step("publish")
        page.get_by_role("button", name="Publish", exact=True).click()
        _wait_for_map(page)
        step("map")
        page.get_by_role("link", name="Services", exact=True).click()
        page.get_by_role("row").filter(has_text="Boroughs").first.wait_for()
        step("services")
    finally:
        context.close()
    assert errors == []
    total = steps[-2][1]  # from `make serve` to the map
    report = {"steps": [{"step": n, "seconds": round(t, 1)} for n, t in steps], "total": total}
    (ARTIFACTS / "first-use.json").write_text(json.dumps(report, indent=2))
    print("\nfirst use:", ", ".join(f"{n} at {t:.1f} s" for n, t in steps))
    if os.environ.get("GEOSITE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        for shot in shots:
            shutil.copy(shot, DOCS / re.sub(r"^first-use-\d+-", "", shot.name))
    assert total < 120  # the bound for a person; the machine's part is far below


def _wait_until_answering(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def _wait_for_map(page: Page) -> None:
    """The new service's preview: its map says how many features it drew."""
    page.wait_for_url(re.compile(r"Boroughs\.FeatureServer\?tab=preview$"), timeout=120_000)
    page.get_by_text(re.compile(r"^Map loaded")).wait_for(timeout=120_000)
