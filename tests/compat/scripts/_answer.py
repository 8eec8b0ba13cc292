"""How our drivers of published libraries answer the test: one JSON document on stdout.

``published.ported`` copies this file next to the driver, so a driver ends with
``serve(main)``; an exception the library raises is reported to the test, which decides.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def serve(main: Callable[..., Any]) -> None:
    """Run ``main(*argv)`` and print its answer, or the exception it raised, as JSON."""
    try:
        answer = main(*sys.argv[1:])
    except Exception as error:  # reported to the test, which decides
        answer = {"error": type(error).__name__, "message": str(error)}
    print(json.dumps(answer, default=str))
