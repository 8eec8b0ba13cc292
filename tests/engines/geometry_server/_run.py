"""Calling a GeometryServer operation as its route does, for the engine tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from geosite.engines.geometry_server import OPERATIONS
from geosite.errors import InvalidParameter


def run(name: str, **params: Any) -> dict[str, Any]:
    """The operation's answer to ``params`` (JSON-encoded unless text, as a form sends
    them); the answer must be JSON with no NaN or Infinity number."""
    text = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    answer = OPERATIONS[name].run(lambda key: text.get(key))
    json.dumps(answer, allow_nan=False)
    return answer


def refused(name: str, params: dict[str, Any], parameter: str) -> None:
    """The operation refuses ``params`` with a 400 that names ``parameter``."""
    with pytest.raises(InvalidParameter) as raised:
        run(name, **params)
    assert f"'{parameter}'" in " ".join(raised.value.details or [])
