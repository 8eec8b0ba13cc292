"""Stop or start every service in a folder (``ROOT`` for the root folder).

Esri's "Example: Stop or start all services in a folder", with geosite.client.

    python examples/client/stop_start_folder.py --folder Maps stop
"""

from __future__ import annotations

from common import connect, parser, run


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--folder", default="ROOT", help="the folder (ROOT: the root folder)")
    args.add_argument("action", choices=("start", "stop"))
    options = args.parse_args()
    folder = "" if options.folder.upper() == "ROOT" else options.folder
    with connect(options) as site:
        chosen = site.services.list(folder)
        for service in chosen:
            getattr(site.services, options.action)(service)
            state = site.services.status(service)["realTimeState"]
            print(f"{service.path}: {state}")
        done = "stopped" if options.action == "stop" else "started"
        print(f"{len(chosen)} service(s) {done}.")
    return 0


if __name__ == "__main__":
    run(main)
