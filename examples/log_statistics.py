"""Derive service statistics from the logs: for each service, the requests the FINE records
of the last hours show, with their average and longest time (Esri's "Derive map service
statistics" sample, which read the FINE "End ExportMapImage" records the same way).

The site must log at FINE (``/admin/logs/settings/edit``) for request records to exist.

    python examples/log_statistics.py --url http://localhost:6080/arcgis --hours 24
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

from arcgis_admin import Admin, AdminError, arguments, fail


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="how far back to look")
    args = parser.parse_args()
    now = int(time.time() * 1000)
    query = {
        "level": "FINE",
        "startTime": now,
        "endTime": now - int(args.hours * 3600 * 1000),
        "filterType": "json",
        "filter": json.dumps({"services": "*", "server": []}),  # service records only
        "pageSize": 10000,
    }
    times: defaultdict[str, list[float]] = defaultdict(list)
    try:
        admin = Admin(args.url, args.user, args.password, args.insecure)
        for record in admin.log_messages(**query):
            if record["elapsed"]:
                times[record["source"]].append(float(record["elapsed"]))
    except AdminError as exc:
        fail(str(exc))
    print(f"{'service':40} {'requests':>9} {'avg s':>9} {'max s':>9}")
    for source, seconds in sorted(times.items(), key=lambda item: -len(item[1])):
        average = sum(seconds) / len(seconds)
        print(f"{source:40} {len(seconds):>9} {average:>9.4f} {max(seconds):>9.4f}")


if __name__ == "__main__":
    main()
