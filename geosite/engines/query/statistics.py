"""``outStatistics``, ``groupByFieldsForStatistics``, ``havingClause`` and
``returnDistinctValues``: aggregated queries, parsed against the layer's fields.

Everything that reaches SQL is a field of the layer (quoted), an aggregate from a fixed table,
an output name matching ``[A-Za-z_][A-Za-z0-9_]*``, or a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from geosite.engines.query.where import Node, parse_having
from geosite.errors import invalid_parameter

Getter = Callable[[str], str | None]
TYPES = {
    "count": "count",
    "sum": "sum",
    "min": "min",
    "max": "max",
    "avg": "avg",
    "stddev": "geosite_stddev",
    "var": "geosite_var",
}
NUMERIC = (
    "esriFieldTypeOID",
    "esriFieldTypeInteger",
    "esriFieldTypeSmallInteger",
    "esriFieldTypeDouble",
    "esriFieldTypeSingle",
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Statistic:
    """One aggregate: its SQL function, its field and the name of its output."""

    kind: str
    field: str
    field_type: str
    out_name: str

    def out_type(self) -> str:
        """The Esri type of the output field."""
        if self.kind == "count":
            return "esriFieldTypeInteger"
        if self.kind in ("min", "max"):
            return (
                "esriFieldTypeInteger" if self.field_type == "esriFieldTypeOID" else self.field_type
            )
        return "esriFieldTypeDouble"


@dataclass(frozen=True)
class Aggregation:
    """A validated statistics query."""

    statistics: tuple[Statistic, ...]
    group_by: tuple[str, ...]
    having: Node | None
    order_by: tuple[tuple[str, str], ...]


def _fields(fields: Sequence[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {str(f["name"]).lower(): (str(f["name"]), str(f["type"])) for f in fields}


def _statistic(item: Any, known: dict[str, tuple[str, str]]) -> Statistic:
    if not isinstance(item, dict):
        raise invalid_parameter("outStatistics", "Each statistic must be a JSON object.")
    kind = str(item.get("statisticType", "")).lower()
    if kind not in TYPES:
        raise invalid_parameter("outStatistics", f"Statistic type '{kind[:32]}' is not supported.")
    raw_field = str(item.get("onStatisticField", ""))
    found = known.get(raw_field.lower())
    if found is None:
        raise invalid_parameter("outStatistics", f"Unknown field '{raw_field[:64]}'.")
    name, field_type = found
    if kind not in ("count", "min", "max") and field_type not in NUMERIC:
        raise invalid_parameter("outStatistics", f"{kind} needs a numeric field; '{name}' is not.")
    out = str(item.get("outStatisticFieldName") or f"{kind}_{name}".upper())
    if not _NAME.match(out):
        raise invalid_parameter("outStatistics", f"Invalid output name '{out[:64]}'.")
    return Statistic(kind, name, field_type, out)


def _order(raw: str | None, allowed: dict[str, str]) -> tuple[tuple[str, str], ...]:
    order: list[tuple[str, str]] = []
    for part in (raw or "").split(","):
        words = part.split()
        if not words:
            continue
        name = allowed.get(words[0].lower())
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if name is None or len(words) > 2 or direction not in ("ASC", "DESC"):
            raise invalid_parameter(
                "orderByFields", f"Cannot order the statistics by '{part.strip()[:64]}'."
            )
        order.append((name, direction))
    return tuple(order)


def parse_aggregation(get: Getter, fields: Sequence[dict[str, Any]]) -> Aggregation | None:
    """The statistics query of a request, or None when it asks for no statistics."""
    raw = get("outStatistics")
    if raw is None:
        if get("havingClause") is not None:
            raise invalid_parameter("havingClause", "A havingClause needs outStatistics.")
        return None
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_parameter("outStatistics", "Expected a JSON array of statistics.") from None
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not items or len(items) > 64:
        raise invalid_parameter("outStatistics", "Expected a JSON array of 1 to 64 statistics.")
    known = _fields(fields)
    statistics = tuple(_statistic(item, known) for item in items)
    group_by: list[str] = []
    for part in (get("groupByFieldsForStatistics") or "").split(","):
        if part.strip():
            found = known.get(part.strip().lower())
            if found is None:
                raise invalid_parameter(
                    "groupByFieldsForStatistics", f"Unknown field '{part[:64]}'."
                )
            if found[0] not in group_by:
                group_by.append(found[0])
    names = [s.out_name.lower() for s in statistics] + [g.lower() for g in group_by]
    if len(set(names)) != len(names):
        raise invalid_parameter(
            "outStatistics",
            "Output names must differ from each other and from the group-by fields.",
        )
    allowed = {g.lower(): g for g in group_by} | {
        s.out_name.lower(): s.out_name for s in statistics
    }
    return Aggregation(
        statistics,
        tuple(group_by),
        parse_having(get("havingClause"), fields),
        _order(get("orderByFields"), allowed),
    )


def parse_distinct(get: Getter, out_fields: Sequence[str]) -> bool:
    """Whether ``returnDistinctValues`` is asked for (on explicit ``outFields`` only)."""
    value = (get("returnDistinctValues") or "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise invalid_parameter("returnDistinctValues", "Expected true or false.")
    wanted = value in ("true", "1")
    if wanted and (get("outFields") or "*").strip() == "*":
        raise invalid_parameter("returnDistinctValues", "List the fields in outFields (not *).")
    return wanted
