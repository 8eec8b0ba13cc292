"""Back up the site to a file on the server, or restore it from one.

The "back up and restore a site" task of ArcGIS Server's command line utilities, with
geosite.client (``exportSite`` and ``importSite``).

    python examples/client/backup_restore.py backup
    python examples/client/backup_restore.py restore /path/on/the/server/site.agssite
"""

from __future__ import annotations

import sys

from common import connect, parser, run


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("action", choices=("backup", "restore"))
    args.add_argument(
        "location",
        nargs="?",
        default="",
        help="backup: a folder on the server (default: the site's backups folder); "
        "restore: the backup file",
    )
    options = args.parse_args()
    if options.action == "restore" and not options.location:
        print("Error: restore needs the backup file's location.", file=sys.stderr)
        return 2
    with connect(options) as site:
        if options.action == "backup":
            print(f"Backed up to {site.backup(options.location)}")
        else:
            report = site.restore(options.location)["report"]
            print(
                f"Restored {report['services']} service(s), {report['folders']} folder(s), "
                f"{report['users']} user(s) and {report['roles']} role(s)."
            )
    return 0


if __name__ == "__main__":
    run(main)
