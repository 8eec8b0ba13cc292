"""Requests, average and longest response time per service, derived from the logs.

Esri's "Example: Derive map service statistics from the ArcGIS Server logs", with
geosite.client. The site must log at FINE (each request's record carries its time).

    python examples/client/log_statistics.py --hours 24 --output stats.csv
"""

from __future__ import annotations

import contextlib
import csv
import sys
import time
from collections import defaultdict

from common import connect, parser, run


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--hours", type=float, default=24.0)
    args.add_argument("--output", default="-", help="a CSV file (default: standard output)")
    options = args.parse_args()
    oldest = int((time.time() - options.hours * 3600) * 1000)
    hits: dict[str, int] = defaultdict(int)
    seconds: dict[str, list[float]] = defaultdict(list)
    with connect(options) as site:
        for record in site.logs.query(level="FINE", oldest=oldest):
            source, elapsed = record.get("source", ""), record.get("elapsed")
            if "." not in source or elapsed in (None, ""):
                continue  # not a request to a service
            hits[source] += 1
            seconds[source].append(float(elapsed))
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if options.output != "-":
            out = stack.enter_context(open(options.output, "w", newline=""))
        writer = csv.writer(out)
        writer.writerow(["Service", "Requests", "Average seconds", "Longest seconds"])
        for source in sorted(hits):
            times = seconds[source]
            writer.writerow(
                [source, hits[source], f"{sum(times) / len(times):.4f}", f"{max(times):.4f}"]
            )
    return 0


if __name__ == "__main__":
    run(main)
