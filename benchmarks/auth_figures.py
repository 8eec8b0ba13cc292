"""R8 figures: failed-login timing, the lockout attempt, and when an expired token is refused.

Runs a site in this process (the test suite's live site, with its adjustable clock) and
prints a table::

    .venv/bin/python benchmarks/auth_figures.py [--tries 200]

The same measurements are asserted by ``tests/security/test_auth_behaviour.py``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, LiveSite, make_site  # noqa: E402
from tests.security.test_auth_behaviour import (  # noqa: E402
    NO_LOCKOUT,
    failed_login_timings,
    lockout_attempt,
)


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def _both(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {_p90(values):.1f} ms"


def first_refusal_ms(site: LiveSite, step_ms: int = 50) -> int:
    """Milliseconds after ``expires`` at which a token is first refused (site clock)."""
    issued = httpx.post(
        site.admin + "/generateToken",
        data={"username": ADMIN_USER, "password": ADMIN_PASSWORD, "expiration": "1", "f": "json"},
    ).json()
    token, expires = issued["token"], issued["expires"]
    site.clock.advance(seconds=(expires - site.clock.now_ms() - 1000) / 1000)
    while True:
        answer = httpx.get(site.admin + "/info", params={"f": "json", "token": token}).json()
        # The request itself takes wall time: read the clock after the answer, as the bound.
        now = site.clock.now_ms()
        if answer.get("code") == 498:
            return int(now - expires)
        site.clock.advance(seconds=step_ms / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200, help="failed logins of each kind")
    args = parser.parse_args()
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        timing_site = make_site(Path(tmp) / "timing", lockout=NO_LOCKOUT)
        try:
            run = failed_login_timings(timing_site, args.tries)
        finally:
            timing_site.stop()
        site = make_site(Path(tmp) / "site")
        try:
            locked_at = lockout_attempt(site)
            site.clock.advance(minutes=16)  # the lock ends: log in again
            refused_after = first_refusal_ms(site)
        finally:
            site.stop()
    unknown = [t * 1000 for t in run["times"]["unknown"]]
    wrong = [t * 1000 for t in run["times"]["wrong"]]
    identical = run["answers"]["unknown"] == run["answers"]["wrong"]
    difference = (statistics.median(unknown) - statistics.median(wrong)) / statistics.median(wrong)
    print(f"geosite {revision}: R8 authentication figures ({args.tries} tries of each kind)")
    print()
    print("| Figure | Value |")
    print("|---|---|")
    print(f"| unknown user, median / p90 | {_both(unknown)} |")
    print(f"| wrong password, median / p90 | {_both(wrong)} |")
    print(f"| difference of the medians | {difference * 100:+.2f} % (limit ±5 %) |")
    print(f"| answers byte-identical | {'yes' if identical else 'NO'} |")
    print(f"| lockout at attempt | {locked_at} (5 failures allowed) |")
    print(f"| expired token first refused | {refused_after} ms after expires (limit 1000 ms) |")


if __name__ == "__main__":
    main()
