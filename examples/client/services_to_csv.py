"""Write the properties of every service to a CSV file.

Esri's "Example: Write properties of all services to a CSV file", with geosite.client.

    python examples/client/services_to_csv.py --output services.csv
"""

from __future__ import annotations

import csv

from common import connect, parser, run

COLUMNS = [
    "ServiceName",
    "Folder",
    "Type",
    "Status",
    "MinInstances",
    "MaxInstances",
    "MaxRecordCount",
    "Capabilities",
    "Description",
]


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--output", default="services.csv")
    options = args.parse_args()
    with connect(options) as site, open(options.output, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        services = site.services.list()
        for service in services:
            definition = site.services.get(service)
            properties = definition.get("properties") or {}
            writer.writerow(
                [
                    service.name,
                    service.folder,
                    service.type,
                    site.services.status(service)["realTimeState"],
                    definition.get("minInstancesPerNode", ""),
                    definition.get("maxInstancesPerNode", ""),
                    properties.get("maxRecordCount", ""),
                    definition.get("capabilities", ""),
                    definition.get("description", ""),
                ]
            )
    print(f"{len(services)} service(s) written to {options.output}.")
    return 0


if __name__ == "__main__":
    run(main)
