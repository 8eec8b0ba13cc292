"""Create a site on a machine that belongs to none yet (``geosite serve --no-site``).

Esri's "Example: Create a site", with geosite.client: no token is needed, as the site and
its administrator do not exist yet.

    python examples/client/create_site.py --user siteadmin --log-level WARNING
"""

from __future__ import annotations

import getpass

from common import parser, run

from geosite.client import Site


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("--log-level", default="WARNING")
    options = args.parse_args()
    password = options.password or getpass.getpass(f"Password for the new {options.user}: ")
    answer = Site.create_site(
        options.url,
        options.user,
        password,
        log_settings={"logLevel": options.log_level, "maxLogFileAge": 90},
        verify=not options.insecure,
    )
    print(f"createNewSite: {answer.get('status')}")
    with Site.connect(options.url, options.user, password, verify=not options.insecure) as site:
        for machine in site.machines.list():
            print(f"Machine {machine['machineName']}: {machine['adminURL']}")
    return 0


if __name__ == "__main__":
    run(main)
