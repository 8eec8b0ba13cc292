"""Report the statistics of every service since the server started: requests, failures,
average and longest response time (Esri's "Derive map service statistics", from the counts
the server keeps instead of its logs).

    python examples/service_statistics.py --url http://localhost:6080/arcgis
"""

from __future__ import annotations

from arcgis_admin import Admin, AdminError, arguments, fail


def main() -> None:
    """Run the script with its command-line arguments."""
    parser = arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    try:
        admin = Admin(args.url, args.user, args.password, args.insecure)
        lines = []
        for folder in admin.folders():
            for listed in admin.services(folder):
                path = admin.service_path(listed)
                summary = admin.post(f"{path}/statistics")["summary"]
                lines.append((path.removeprefix("/services/"), summary))
    except AdminError as exc:
        fail(str(exc))
    print(f"{'service':40} {'requests':>9} {'failures':>9} {'avg ms':>9} {'max ms':>9}")
    for name, s in sorted(lines, key=lambda line: -int(line[1]["transactions"])):
        print(
            f"{name:40} {s['transactions']:>9} {s['failures']:>9} "
            f"{s['avgResponseTime']:>9.1f} {s['maxResponseTime']:>9.1f}"
        )


if __name__ == "__main__":
    main()
