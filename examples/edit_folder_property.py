"""Set one property on every service in a folder (Esri's "Edit service properties").

Reads each service's JSON, changes one value, and posts the whole JSON back to ``edit``:

    python examples/edit_folder_property.py --folder Maps --set properties.maxRecordCount=1000
    python examples/edit_folder_property.py --folder ROOT --set maxInstancesPerNode=4
"""

from __future__ import annotations

import json

from arcgis_admin import Admin, AdminError, arguments, fail


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--folder", default="ROOT", help="folder name, or ROOT for the root")
    parser.add_argument(
        "--set", required=True, metavar="KEY=VALUE", help="a top-level key or properties.<key>"
    )
    args = parser.parse_args()
    key, sep, value = args.set.partition("=")
    if not sep or not key:
        fail("--set must look like KEY=VALUE")
    try:
        admin = Admin(args.url, args.user, args.password, args.insecure)
        services = admin.services(args.folder)
        for listed in services:
            path = admin.service_path(listed)
            service = admin.post(path)
            if key.startswith("properties."):
                service.setdefault("properties", {})[key.split(".", 1)[1]] = value
            else:
                service[key] = value
            admin.post(f"{path}/edit", service=json.dumps(service))
            print(f"{path.removeprefix('/services/')}: {key} = {value}")
    except AdminError as exc:
        fail(str(exc))
    print(f"Edited {len(services)} service(s).")


if __name__ == "__main__":
    main()
