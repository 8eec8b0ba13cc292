"""Print the site's log messages at a level and worse (SEVERE by default) of the last hours,
newest first, following the pages of ``logs/query`` (Esri's "Query the logs" sample).

    python examples/query_logs.py --url http://localhost:6080/arcgis --level SEVERE --hours 1
"""

from __future__ import annotations

import json
import time

from arcgis_admin import Admin, AdminError, arguments, fail


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--level", default="SEVERE", help="SEVERE, WARNING, INFO, FINE...")
    parser.add_argument("--hours", type=float, default=1.0, help="how far back to look")
    parser.add_argument("--service", help="only this service, e.g. Maps/Cities.FeatureServer")
    args = parser.parse_args()
    now = int(time.time() * 1000)
    query = {
        "level": args.level,
        "startTime": now,
        "endTime": now - int(args.hours * 3600 * 1000),
        "filterType": "json",
        "filter": json.dumps({"services": [args.service]} if args.service else {}),
        "pageSize": 1000,
    }
    try:
        admin = Admin(args.url, args.user, args.password, args.insecure)
        count = 0
        for record in admin.log_messages(**query):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record["time"] / 1000))
            print(f"{stamp} {record['type']:8} {record['code']:>5} {record['source']}: "
                  f"{record['message']}")  # fmt: skip
            count += 1
    except AdminError as exc:
        fail(str(exc))
    print(f"{count} message(s).")


if __name__ == "__main__":
    main()
