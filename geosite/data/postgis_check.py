"""Whether a registered PostgreSQL database can serve feature data: it answers, the
credentials are right, and PostGIS is installed in it (``validateDataItem``, ``registerItem``).

One connection, given up after ``TIMEOUT_S`` seconds (connecting, then the query), closed at
once. Failures are 400s that say why in words of our own (authentication failed, database
missing, server unreachable, PostGIS missing); the driver's text, which names the host and
port but never the password, goes to the log only, with the password cut out all the same.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from geosite.core.models import DatabaseConnection
from geosite.errors import InvalidParameter

TIMEOUT_S = 5

# The driver's words (libpq's, which carry no SQLSTATE on a failed connection) -> ours.
_CAUSES = (
    (("password authentication failed", "authentication failed", "no password supplied",
      "role \"", "password is required"), "authentication failed for user '{user}'"),
    (("does not exist",), "the database '{database}' does not exist on {address}"),
    (("no pg_hba.conf entry", "pg_hba.conf rejects"),
     "{address} does not accept connections from this server for user '{user}' (pg_hba.conf)"),
    (("invalid response", "unsupported frontend protocol",
      "expected authentication request"), "the server at {address} is not a PostgreSQL server"),
    (("ssl", "certificate"), "the SSL connection to {address} failed (sslmode {sslmode})"),
    (("timeout", "timed out"), "{address} did not answer within {timeout} s"),
    (("connection refused", "could not translate host name", "failed to resolve host",
      "no route to host", "network is unreachable", "name or service not known"),
     "the database server at {address} cannot be reached"),
)  # fmt: skip


def _address(connection: DatabaseConnection) -> str:
    host = f"[{connection.host}]" if ":" in connection.host else connection.host
    return f"{host}:{connection.port}"


def _failure(connection: DatabaseConnection, exc: Exception) -> InvalidParameter:
    said = str(exc).replace(connection.password, "***") if connection.password else str(exc)
    lowered = said.lower()
    why = "the database server at {address} refused the connection"
    for needles, text in _CAUSES:
        if any(needle in lowered for needle in needles):
            why = text
            break
    message = why.format(
        user=connection.user,
        database=connection.database,
        address=_address(connection),
        sslmode=connection.sslmode,
        timeout=TIMEOUT_S,
    )
    return InvalidParameter(f"Could not connect to the database: {message}.", private=[said[:2000]])


def check_postgis(connection: DatabaseConnection) -> None:
    """Connect to the database and ask PostGIS its version; an error that says why not."""
    try:
        with psycopg.connect(
            host=connection.host,
            port=connection.port,
            dbname=connection.database,
            user=connection.user,
            password=connection.password,
            sslmode=connection.sslmode,
            connect_timeout=TIMEOUT_S,
            application_name="geosite",
            options=f"-c statement_timeout={TIMEOUT_S * 1000}",
            autocommit=True,
        ) as conn:
            try:
                conn.execute("SELECT postgis_version()")
            except pg_errors.UndefinedFunction:
                raise InvalidParameter(
                    f"PostGIS is not installed in the database '{connection.database}' on "
                    f"{_address(connection)}: an administrator of the database must add the "
                    "postgis extension to it."
                ) from None
    except psycopg.Error as exc:
        raise _failure(connection, exc) from None
