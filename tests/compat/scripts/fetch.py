"""Download the published scripts named in each ``<slug>/SOURCE.md`` into ``<slug>/original/``.

The scripts are other people's code and are not kept in this repository; each SOURCE.md
has a table row per file: ``| `original/<name>` | <raw URL at a pinned commit> | `<sha256>` |``.
A file whose digest differs is refused. ``python -m tests.compat.scripts.fetch``.
"""

from __future__ import annotations

import hashlib
import re
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
ROW = re.compile(
    r"^\| `(original/[\w.-]+)` \| (https://raw\.githubusercontent\.com/\S+) \| `([0-9a-f]{64})` \|$"
)


def fetch(home: Path) -> list[Path]:
    """The files of one ``<slug>`` directory, downloaded and checked (kept if already there)."""
    written = []
    for line in (home / "SOURCE.md").read_text().splitlines():
        row = ROW.match(line.strip())
        if row is None:
            continue
        name, url, digest = row.groups()
        target = home / name
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
            continue
        with urllib.request.urlopen(url, timeout=60) as answer:
            body = answer.read()
        if hashlib.sha256(body).hexdigest() != digest:
            raise RuntimeError(f"{url}: the digest is not the one SOURCE.md names")
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(body)
        written.append(target)
    return written


def main() -> int:
    for source in sorted(HERE.glob("*/SOURCE.md")):
        for path in fetch(source.parent):
            print(path.relative_to(HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
