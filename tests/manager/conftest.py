"""The Manager in Debian's headless Chromium, driven by Playwright for Python.

``manager`` is a page of a fresh browser context on a live site (``site``, one per module)
that records every console error, uncaught exception, failed request and CSP violation;
the test fails at teardown if any was seen (``Manager.allow`` lists the expected ones, such
as the 400 of a wrong password). ``Manager.shot(name)`` keeps a screenshot under
``$GEOSITE_TEST_ARTIFACTS/manager/`` (default ``tests/artifacts/manager/``), and
``Manager.check_accessibility()`` runs axe-core (``manager/node_modules``, ``make
manager-deps``) in the page and fails on any violation of WCAG 2.1 A/AA rules.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite

ROOT = Path(__file__).parents[2]
AXE = ROOT / "manager" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = (
    Path(os.environ.get("GEOSITE_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts") / "manager"
)
#: How long a step may wait for the page (ms): generous, CI's two cores run other tests too.
TIMEOUT = 30_000

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]


def missing(reason: str) -> NoReturn:
    """Skip with the reason, or fail where the browser tests must run (``.ci/run`` sets
    ``GEOSITE_REQUIRE_BROWSER=1``: a CI run that skipped them would prove nothing)."""
    if os.environ.get("GEOSITE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GEOSITE_REQUIRE_BROWSER=1, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if sync_playwright is None:
        missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).is_file():
        missing("Chromium is not installed (.ci/run installs Debian's chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield launched
    launched.close()


@dataclass
class Manager:
    """A page of the Manager of ``site``, and what went wrong in it."""

    site: LiveSite
    page: Page
    name: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.site.http + "/arcgis/manager/"

    def open(self, route: str = "") -> None:
        """Open the Manager at ``#/route``."""
        self.page.goto(self.url + (f"#/{route}" if route else ""))

    def sign_in(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        """Sign in on the sign-in page and wait for the navigation."""
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()

    def go(self, section: str) -> None:
        """Follow a link of the top navigation."""
        self.page.get_by_role("navigation", name="Sections").get_by_role(
            "link", name=section, exact=True
        ).click()

    def allow(self, pattern: str) -> None:
        """A console message or failed request matching ``pattern`` is expected."""
        self.allowed.append(re.compile(pattern))

    def shot(self, name: str) -> Path:
        """Keep a screenshot of the whole page as ``<test>-<name>.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_accessibility(self) -> None:
        """axe-core's WCAG 2.1 A and AA rules on the page as it is: no violation."""
        if not AXE.is_file():
            missing(f"axe-core is missing ({AXE}): run `make manager-deps`")
        self.page.evaluate(AXE.read_text())  # evaluate is not subject to the page's CSP
        found: dict[str, Any] = self.page.evaluate(
            """async () => await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
        )
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in found["violations"]
        ]
        assert violations == [], "\n".join(violations)

    def _record(self, text: str) -> None:
        if not any(p.search(text) for p in self.allowed):
            self.problems.append(text)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self._record(f"console: {message.text}")


@pytest.fixture
def manager(browser: Browser, site: LiveSite, request: pytest.FixtureRequest) -> Iterator[Manager]:
    """A new browser context (no cookies) on the Manager of the module's site."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name)
    found = Manager(site, page, name)
    page.on("console", found.on_console)
    page.on("pageerror", lambda error: found._record(f"uncaught: {error}"))
    page.on("requestfailed", lambda r: found._record(f"request failed: {r.url} {r.failure}"))
    yield found
    try:
        if not page.is_closed():
            found.shot("last")
    finally:
        context.close()
    assert found.problems == [], "\n".join(found.problems)
