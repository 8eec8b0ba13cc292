"""Change properties of services: a key (maxInstancesPerNode=4) or a property
(properties.maxRecordCount=1000) on the services the patterns name.

Esri's "Example: Edit service properties", with geosite.client.

    python examples/client/edit_service.py 'Maps/*' --set maxInstancesPerNode=4
"""

from __future__ import annotations

import json
import sys
from typing import Any

from common import connect, parser, run


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> int:
    """Run the script; the exit code."""
    args = parser(__doc__.splitlines()[0])
    args.add_argument("patterns", nargs="+", help="globs over folder/name.type")
    args.add_argument("--set", dest="settings", action="append", required=True, metavar="KEY=VALUE")
    options = args.parse_args()
    changes: dict[str, Any] = {}
    for setting in options.settings:
        key, sep, raw = setting.partition("=")
        if not sep:
            print(f"Error: --set expects KEY=VALUE, not {setting!r}", file=sys.stderr)
            return 2
        if key.startswith("properties."):
            changes.setdefault("properties", {})[key.split(".", 1)[1]] = _value(raw)
        else:
            changes[key] = _value(raw)
    with connect(options) as site:
        chosen = site.services.match(options.patterns)
        if not chosen:
            print("Error: no service matches.", file=sys.stderr)
            return 1
        for service in chosen:
            site.services.edit(service, changes)
            print(f"{service.path}: edited")
    return 0


if __name__ == "__main__":
    run(main)
