"""Create roles and users from a CSV file with the columns
User,Role,RoleType,Password,EMail,FullName,Description.

Esri's "Example: Create users and roles from a CSV file", with geosite.client. RoleType is
the role's privilege: ADMINISTER, PUBLISH or ACCESS. Roles that exist already are kept.

    python examples/client/users_roles_from_csv.py people.csv
"""

from __future__ import annotations

import csv

from common import connect, parser, run


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("csv_file")
    options = args.parse_args()
    with open(options.csv_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    with connect(options) as site:
        existing = {r["rolename"].lower() for r in site.roles.list()}
        for row in rows:
            role = row["Role"].strip()
            if role and role.lower() not in existing:
                site.roles.add(role, privilege=row["RoleType"].strip().upper() or "ACCESS")
                existing.add(role.lower())
                print(f"Role {role} added ({row['RoleType'].strip().upper()}).")
            site.users.add(
                row["User"].strip(),
                row["Password"],
                email=row.get("EMail", "").strip(),
                fullname=row.get("FullName", "").strip(),
                description=row.get("Description", "").strip(),
            )
            if role:
                site.users.assign_roles(row["User"].strip(), [role])
            print(f"User {row['User'].strip()} added" + (f" to {role}." if role else "."))
    return 0


if __name__ == "__main__":
    run(main)
