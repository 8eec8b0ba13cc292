"""Print the log messages at a level and worse (SEVERE by default) of the last hours.

Esri's "Example: Query the ArcGIS Server logs", with geosite.client: the pages are fetched
as the records are read.

    python examples/client/query_logs.py --level WARNING --hours 24
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from common import connect, parser, run


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--level", default="SEVERE")
    args.add_argument("--hours", type=float, default=1.0)
    args.add_argument("--service", action="append", help="e.g. Maps/Roads.FeatureServer")
    options = args.parse_args()
    oldest = int((time.time() - options.hours * 3600) * 1000)
    with connect(options) as site:
        count = 0
        for record in site.logs.query(level=options.level, oldest=oldest, services=options.service):
            moment = datetime.fromtimestamp(record["time"] / 1000, UTC)
            print(
                f"{moment:%Y-%m-%d %H:%M:%S}  {record['type']:<7}  {record['source']}  "
                f"{record['message']}"
            )
            count += 1
        print(f"{count} record(s).")
    return 0


if __name__ == "__main__":
    run(main)
