"""Describing a PostGIS table published by reference: its key, geometry and fields as a
layer description, or a clear refusal of what cannot be served.

A table can be served when it has an integer key (a one-column primary key, or a unique
index on one ``NOT NULL`` integer column) and one geometry column with an SRID; geometry of
one kind (points, multipoints, lines or polygons, single or multi). Columns of types
ArcGIS has no field type for (booleans, arrays, JSON, binary...) are left out.
"""

from __future__ import annotations

from typing import Any

import psycopg

from geosite.core.models import LayerDescription
from geosite.errors import DataUnavailable, InvalidParameter

#: ArcGIS field types of PostgreSQL column types (``format_type`` names, without length).
FIELD_TYPES = {
    "smallint": "esriFieldTypeSmallInteger",
    "integer": "esriFieldTypeInteger",
    "bigint": "esriFieldTypeDouble",  # beyond 32 bits: ArcGIS's integer fields are 32-bit
    "real": "esriFieldTypeSingle",
    "double precision": "esriFieldTypeDouble",
    "numeric": "esriFieldTypeDouble",
    "text": "esriFieldTypeString",
    "character varying": "esriFieldTypeString",
    "character": "esriFieldTypeString",
    "date": "esriFieldTypeDate",
    "timestamp without time zone": "esriFieldTypeDate",
    "timestamp with time zone": "esriFieldTypeDate",
    "uuid": "esriFieldTypeGUID",
}
_GEOMETRY_TYPES = {
    "POINT": "esriGeometryPoint",
    "MULTIPOINT": "esriGeometryMultipoint",
    "LINESTRING": "esriGeometryPolyline",
    "MULTILINESTRING": "esriGeometryPolyline",
    "POLYGON": "esriGeometryPolygon",
    "MULTIPOLYGON": "esriGeometryPolygon",
}
_INTEGERS = ("smallint", "integer", "bigint")
_SAMPLE = 1000


def split_table(text: str) -> tuple[str, str]:
    """(schema, table) of ``schema.table`` (``public`` when no schema is named)."""
    schema, dot, table = text.strip().partition(".")
    if not dot:
        schema, table = "public", schema
    if not schema or not table or "\x00" in text or len(text) > 127:
        raise InvalidParameter("Name the table as <schema>.<table>.")
    return schema, table


def _one(conn: psycopg.Connection[Any], text: str, params: list[Any]) -> Any:
    row = conn.execute(text.encode(), params).fetchone()
    return row[0] if row else None


def _key(conn: psycopg.Connection[Any], relation: int, qualified: str) -> tuple[str, bool]:
    """(the integer key column, whether it has a default: a sequence or an identity)."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, NULL), a.attnotnull, i.indisprimary, "
        "a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) IS NOT NULL "
        "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
        "AND d.adnum = a.attnum WHERE i.indrelid = %s AND i.indnatts = 1 AND i.indisunique "
        "AND i.indpred IS NULL ORDER BY i.indisprimary DESC, a.attnum",
        [relation],
    ).fetchall()
    for name, kind, not_null, primary, has_default in rows:
        if kind in _INTEGERS and (primary or not_null):
            return str(name), bool(has_default)
    raise InvalidParameter(
        f"Table '{qualified}' has no usable integer key.",
        details=[
            "A table is published by reference when one integer column identifies its rows: "
            "a one-column primary key, or a unique index on a NOT NULL integer column."
        ],
    )


def _geometry(
    conn: psycopg.Connection[Any], schema: str, table: str, qualified: str
) -> tuple[str, int, str]:
    """(geometry column, SRID, ArcGIS geometry type)."""
    found = conn.execute(
        "SELECT f_geometry_column, srid, type FROM geometry_columns "
        "WHERE f_table_schema = %s AND f_table_name = %s ORDER BY f_geometry_column",
        [schema, table],
    ).fetchall()
    if not found:
        raise InvalidParameter(f"Table '{qualified}' has no geometry column.")
    column, srid, kind = str(found[0][0]), int(found[0][1]), str(found[0][2]).upper()
    if srid <= 0:
        raise InvalidParameter(
            f"The geometry column '{column}' of '{qualified}' has no SRID.",
            details=[
                "Give it one, for example: ALTER TABLE ... ALTER COLUMN ... "
                "TYPE geometry(Point, 4326) USING ST_SetSRID(...)."
            ],
        )
    esri = _GEOMETRY_TYPES.get(kind.removesuffix("M").removesuffix("Z"))
    if esri is None:  # a generic column: what the rows hold decides, if it is one kind
        sample = conn.execute(_sample_sql(schema, table, column).encode()).fetchall()
        kinds = {_GEOMETRY_TYPES.get(str(row[0]).upper()) for row in sample if row[0]}
        if len(kinds) != 1 or None in kinds:
            raise InvalidParameter(
                f"The geometry column '{column}' of '{qualified}' holds more than one kind of "
                "geometry (or none): ArcGIS layers hold one.",
                details=["Publish a view that selects one kind, with a typed column."],
            )
        esri = str(kinds.pop())
    return column, srid, esri


def qualified_sql(schema: str, table: str) -> str:
    """``"schema"."table"``, quoted."""
    return '"' + schema.replace('"', '""') + '"."' + table.replace('"', '""') + '"'


def _sample_sql(schema: str, table: str, column: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return (
        f"SELECT DISTINCT GeometryType({quoted}) FROM (SELECT {quoted} FROM "  # noqa: S608
        f"{qualified_sql(schema, table)} WHERE {quoted} IS NOT NULL LIMIT {_SAMPLE}) AS sample"
    )


def _fields(
    conn: psycopg.Connection[Any], relation: int, key: str, geometry: str
) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, NULL), attnotnull, "
        "CASE WHEN atttypmod > 4 THEN atttypmod - 4 END FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [relation],
    ).fetchall()
    fields: list[dict[str, Any]] = [
        {"name": key, "type": "esriFieldTypeOID", "alias": key, "nullable": False}
    ]
    for name, kind, not_null, length in rows:
        esri = FIELD_TYPES.get(str(kind))
        if name in (key, geometry) or esri is None:
            continue
        field: dict[str, Any] = {
            "name": str(name),
            "type": esri,
            "alias": str(name),
            "nullable": not not_null,
        }
        if esri == "esriFieldTypeString":
            field["length"] = int(length) if length else 255 if kind == "character" else 4000
        if esri == "esriFieldTypeDate":
            field["length"] = 8
        fields.append(field)
    return fields


def describe_table(
    conninfo: str, text: str, layer_id: int = 0, *, creating: bool = False
) -> LayerDescription:
    """The layer description of ``schema.table`` (``creating``: the service allows adds,
    which needs a key the database fills in)."""
    schema, table = split_table(text)
    qualified = f"{schema}.{table}"
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            relation = _one(conn, "SELECT to_regclass(%s)::oid", [qualified_sql(schema, table)])
            if relation is None:
                raise InvalidParameter(
                    f"Table '{qualified}' does not exist, or the database's user cannot see it."
                )
            key, filled = _key(conn, int(relation), qualified)
            if creating and not filled:
                raise InvalidParameter(
                    f"The key '{key}' of '{qualified}' has no default (a sequence or an "
                    "identity), so features cannot be added: publish without Create, or give "
                    "the key a default."
                )
            column, srid, geometry_type = _geometry(conn, schema, table, qualified)
            fields = _fields(conn, int(relation), key, column)
            box = conn.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), "  # noqa: S608
                f"(SELECT count(*) FROM {qualified_sql(schema, table)}) FROM "
                f'(SELECT ST_Extent("{column.replace(chr(34), chr(34) * 2)}") AS e '
                f"FROM {qualified_sql(schema, table)}) AS extent"
            ).fetchone()
    except psycopg.OperationalError as exc:
        raise DataUnavailable(details=[f"The database answered: {type(exc).__name__}."]) from None
    except psycopg.Error as exc:
        raise InvalidParameter(
            f"Table '{qualified}' cannot be read ({type(exc).__name__})."
        ) from None
    sr = {"wkid": srid, "latestWkid": srid}
    xmin, ymin, xmax, ymax, count = box if box is not None else (None,) * 5
    extent = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "spatialReference": sr}
    return LayerDescription(
        id=layer_id,
        name=table,
        table=table,
        geometry_type=geometry_type,
        spatial_reference=sr,
        extent=extent
        if xmin is not None
        else {**extent, "xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0},
        fields=tuple(fields),
        count=int(count or 0),
        object_id_field=key,
        geometry_field=column,
    )
