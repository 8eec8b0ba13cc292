"""The mechanical Python 3 port of a published Python 2 script, made on every run.

The port is the standard library's ``2to3`` with a fixed list of fixers (``print``
statements, the ``urllib``/``urllib2``/``httplib`` modules, ``raw_input``, ``iteritems``,
``except`` clauses), then :data:`FIXUPS`: generic rewrites for what ``2to3`` leaves to
Python 3's stricter bytes (``urlopen`` takes the request body as bytes). Nothing else
changes: host, port and credentials reach a script through its own arguments, prompts or
the parameters its README tells users to set (:func:`configure`).

Made at run time rather than kept as a diff, so that nothing of a published script is
copied into this repository (only where it came from and its digest, in ``SOURCE.md``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FIXERS = ("print", "urllib", "imports", "raw_input", "dict", "except", "has_key", "exec")

CALL = "urllib.request.urlopen("


def _body_as_bytes(line: str) -> str:
    """``urlopen(url, data)`` with ``data`` text becomes ``urlopen(url, (data).encode())``.

    Python 2 sent the ``str`` body as bytes; Python 3 refuses text. Only a call with exactly
    two arguments is changed (the parentheses and commas are counted, not guessed).
    """
    start = line.find(CALL)
    if start < 0:
        return line
    depth, comma, index = 1, -1, start + len(CALL)
    while index < len(line) and depth:
        char = line[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 1:
            if comma >= 0:
                return line  # three arguments: not the shape this fixup knows
            comma = index
        index += 1
    if depth or comma < 0:
        return line
    close = index - 1
    data = line[comma + 1 : close].strip()
    if data.endswith(".encode()"):
        return line
    return f"{line[: comma + 1]} ({data}).encode(){line[close:]}"


# Applied line by line after 2to3: generic shapes only, no text of any script.
FIXUPS = (_body_as_bytes,)


def port(directory: Path) -> list[str]:
    """Port every ``.py`` file under ``directory`` in place; the lines the fixups changed."""
    sources = sorted(str(p) for p in directory.rglob("*.py"))
    fixers = [arg for name in FIXERS for arg in ("-f", name)]
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "lib2to3", *fixers, "-w", "-n", *sources],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"2to3 failed on {directory}:\n{done.stdout}{done.stderr}")
    changed: list[str] = []
    for source in sources:
        path = Path(source)
        lines = path.read_text().splitlines(keepends=True)
        for number, line in enumerate(lines):
            for fixup in FIXUPS:
                new = fixup(line)
                if new != line:
                    changed.append(f"{path.name}:{number + 1}: {new.strip()}")
                    lines[number] = line = new
        path.write_text("".join(lines))
    return changed


def configure(script: Path, **values: str) -> None:
    """Set the top-level ``name = value`` parameters a script's README says to edit.

    Each name must be assigned exactly once at the start of a line; anything else is an
    error, so a script that changed shape is noticed rather than run half configured.
    """
    text = script.read_text()
    for name, value in values.items():
        pattern = re.compile(rf"^{re.escape(name)} = .*$", re.MULTILINE)
        if len(pattern.findall(text)) != 1:
            raise ValueError(f"{script.name}: no single top-level assignment of {name}")
        text = pattern.sub(lambda _m, n=name, v=value: f"{n} = {v!r}", text)
    script.write_text(text)
