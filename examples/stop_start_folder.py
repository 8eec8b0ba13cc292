"""Stop or start every service in a folder (Esri's "Stop or start all services in a folder").

    python examples/stop_start_folder.py --url http://localhost:6080/arcgis \
        --user siteadmin --folder Maps stop
"""

from __future__ import annotations

from arcgis_admin import Admin, AdminError, arguments, fail


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--folder", default="ROOT", help="folder name, or ROOT for the root")
    parser.add_argument("action", choices=("start", "stop"))
    args = parser.parse_args()
    try:
        admin = Admin(args.url, args.user, args.password, args.insecure)
        services = admin.services(args.folder)
        for service in services:
            path = admin.service_path(service)
            admin.post(f"{path}/{args.action}")
            state = admin.post(f"{path}/status")["realTimeState"]
            print(f"{path.removeprefix('/services/')}: {state}")
    except AdminError as exc:
        fail(str(exc))
    print(f"{len(services)} service(s) {'started' if args.action == 'start' else 'stopped'}.")


if __name__ == "__main__":
    main()
