"""Logs and usage reports at scale (issue 7's benchmark).

Fills a site's log store with 1,000,000 log records of 3 machines and 50 services (levels
mixed as a FINE-level site writes them: most FINE, a tenth WARNING or worse) and a week of
per-minute request counts for the 50 services on 3 machines (1.5 million rows), then asks,
over HTTP on loopback with a keep-alive client:

* ``logs/query``: the newest 1,000 records at WARNING and worse (target p50 <= 50 ms);
* a usage report's ``data``: LAST_WEEK, ``services/``, RequestCount and
  RequestAvgResponseTime (target p50 <= 200 ms).

    .venv/bin/python benchmarks/logs.py [--records 1000000] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geosite.core.models import LogRecord, ServiceUsage  # noqa: E402
from tests.conftest import ADMIN_PASSWORD, ADMIN_USER, make_site  # noqa: E402

MACHINES = ("GIS1.EXAMPLE", "GIS2.EXAMPLE", "GIS3.EXAMPLE")
SERVICES = [f"Folder{i % 5}/Service{i}.FeatureServer" for i in range(50)]
LEVELS = ("FINE",) * 8 + ("INFO", "WARNING", "SEVERE")
WEEK_MINUTES = 7 * 24 * 60


def fill(site: object, records: int, now_ms: int) -> tuple[float, float]:
    """Write the records and the week of counts; return the seconds each took."""
    rng = random.Random(1)
    logs = site.log_store  # type: ignore[attr-defined]
    started = time.perf_counter()
    span = 7 * 24 * 3600 * 1000
    batch: list[LogRecord] = []
    for i in range(records):
        source = rng.choice(SERVICES) if i % 3 else rng.choice(("Rest", "Admin", "Server"))
        batch.append(
            LogRecord(
                now_ms - span + i * span // records,
                rng.choice(LEVELS),
                rng.choice((7100, 7101, 7200, 7500)),
                source,
                rng.choice(MACHINES),
                f"GET /arcgis/rest/services/{source} completed.",
                process=rng.randrange(1000, 1003),
                thread=1,
                elapsed_ms=rng.random() * 50,
                request_id=f"{rng.getrandbits(64):016x}",
            )
        )
        if len(batch) == 50_000:
            logs.write(batch)
            batch = []
    logs.write(batch)
    records_s = time.perf_counter() - started
    started = time.perf_counter()
    first = now_ms - now_ms % 60_000 - WEEK_MINUTES * 60_000
    for machine in MACHINES:
        rows = [
            ServiceUsage(machine, service.lower(), first + m * 60_000, 3, m % 7 == 0, 30.0, 20.0)
            for service in SERVICES
            for m in range(WEEK_MINUTES)
        ]
        for start in range(0, len(rows), 100_000):
            logs.add_usage(rows[start : start + 100_000])
    return records_s, time.perf_counter() - started


def p50(client: httpx.Client, url: str, data: dict[str, str], runs: int) -> tuple[float, float]:
    """Median and p90 of ``runs`` POSTs (after 3 warm-ups), in ms."""
    for _ in range(3):
        client.post(url, data=data).raise_for_status()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.post(url, data=data)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and "error" not in answer.json(), answer.text[:300]
    return statistics.median(times), statistics.quantiles(times, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder) / "site")
        try:
            now = site.clock.now_ms()
            records_s, usage_s = fill(site, args.records, now)
            token = site.token(ADMIN_USER, ADMIN_PASSWORD)
            report = {
                "reportname": "week",
                "since": "LAST_WEEK",
                "queries": [
                    {
                        "resourceURIs": ["services/"],
                        "metrics": ["RequestCount", "RequestAvgResponseTime"],
                    }
                ],
            }
            with httpx.Client(timeout=120) as client:
                added = client.post(
                    site.admin + "/usagereports/add",
                    data={"f": "json", "token": token, "usagereport": json.dumps(report)},
                ).json()
                assert added == {"status": "success"}, added
                logs = p50(
                    client,
                    site.admin + "/logs/query",
                    {
                        "f": "json",
                        "token": token,
                        "level": "WARNING",
                        "pageSize": "1000",
                        "startTime": str(now),
                    },
                    args.runs,
                )
                page = client.post(
                    site.admin + "/logs/query",
                    data={
                        "f": "json",
                        "token": token,
                        "level": "WARNING",
                        "pageSize": "1000",
                        "startTime": str(now),
                    },
                ).json()
                assert len(page["logMessages"]) >= 1000, len(page["logMessages"])
                usage = p50(
                    client,
                    site.admin + "/usagereports/week/data",
                    {"f": "json", "token": token},
                    args.runs,
                )
        finally:
            site.stop()
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    counts = len(SERVICES) * len(MACHINES) * WEEK_MINUTES
    print(
        f"revision {revision}; {args.records:,} log records written in {records_s:.1f} s; "
        f"{counts:,} per-minute counts in {usage_s:.1f} s"
    )
    print("| request | p50 | p90 | target |")
    print("|---|---|---|---|")
    print(
        f"| newest 1,000 records at WARNING and worse | {logs[0]:.1f} ms | {logs[1]:.1f} ms "
        "| p50 <= 50 ms |"
    )
    print(
        f"| LAST_WEEK usage report, services/, 2 metrics | {usage[0]:.1f} ms | "
        f"{usage[1]:.1f} ms | p50 <= 200 ms |"
    )


if __name__ == "__main__":
    main()
