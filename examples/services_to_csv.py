"""Write the properties of every service to a CSV file (Esri's "Write properties of all services
to a CSV file").

    python examples/services_to_csv.py --url http://localhost:6080/arcgis --output services.csv
"""

from __future__ import annotations

import csv
import sys

from arcgis_admin import Admin, AdminError, arguments, fail

COLUMNS = (
    "ServiceName",
    "Folder",
    "Type",
    "Status",
    "Min Instances",
    "Max Instances",
    "Max Records",
    "Capabilities",
    "KML",
    "WMS",
    "Cluster",
    "Description",
)


def rows(admin: Admin) -> list[dict[str, str]]:
    """One row per service of every folder."""
    out = []
    for folder in admin.folders():
        for listed in admin.services(folder):
            path = admin.service_path(listed)
            service = admin.post(path)
            status = admin.post(f"{path}/status")
            enabled = {
                e.get("typeName"): str(e.get("enabled")).lower() == "true"
                for e in service.get("extensions", [])
            }
            out.append(
                {
                    "ServiceName": service["serviceName"],
                    "Folder": folder or "ROOT",
                    "Type": service["type"],
                    "Status": status["realTimeState"],
                    "Min Instances": str(service.get("minInstancesPerNode", "")),
                    "Max Instances": str(service.get("maxInstancesPerNode", "")),
                    "Max Records": str(service.get("properties", {}).get("maxRecordCount", "")),
                    "Capabilities": service.get("capabilities", ""),
                    "KML": "Enabled" if enabled.get("KmlServer") else "Disabled",
                    "WMS": "Enabled" if enabled.get("WMSServer") else "Disabled",
                    "Cluster": service.get("clusterName", ""),
                    "Description": service.get("description", ""),
                }
            )
    return out


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--output", default="-", help="CSV file (default: standard output)")
    args = parser.parse_args()
    try:
        found = rows(Admin(args.url, args.user, args.password, args.insecure))
    except AdminError as exc:
        fail(str(exc))
    out = sys.stdout if args.output == "-" else open(args.output, "w", newline="")  # noqa: SIM115
    with out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(found)
    if args.output != "-":
        print(f"Wrote {len(found)} service(s) to {args.output}.")


if __name__ == "__main__":
    main()
