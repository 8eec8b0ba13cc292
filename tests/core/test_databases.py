"""Connection strings of registered databases, read without connecting anywhere: every text
is a connection or a 400 that quotes none of it, and a password survives its encryption."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geosite.core import databases
from geosite.core.models import DatabaseConnection
from geosite.errors import InvalidParameter
from geosite.storage.sqlite import SqliteSiteStore

_MARK = "Qz7Kx"  # a password's text: never in a message
_PIECES = st.sampled_from(
    [
        "SERVER=",
        "INSTANCE=sde:postgresql:",
        "DBCLIENT=postgresql",
        "DB_CONNECTION_PROPERTIES=",
        "DATABASE=",
        "USER=",
        "PASSWORD=",
        "ENCRYPTED_PASSWORD=gs1.",
        "AUTHENTICATION_MODE=DBMS",
        "SSLMODE=",
        ";",
        ",",
        "=",
        "127.0.0.1",
        "::1",
        "5432",
        "postgresql://",
        "@",
        ":",
        "/",
        "?sslmode=",
        "%",
        "[",
        "]",
        _MARK,
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=14).map("".join)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteSiteStore:
    made = SqliteSiteStore(tmp_path_factory.mktemp("db") / "site.db")
    made.initialize_schema()
    return made


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_TEXT)
def test_any_text_is_a_connection_or_a_clear_refusal(store: SqliteSiteStore, text: str) -> None:
    try:
        connection = databases.parse_connection_string(store, text)
    except InvalidParameter as exc:
        said = " ".join(exc.messages + exc.details)
        assert _MARK not in said
        return
    assert isinstance(connection, DatabaseConnection)
    assert 0 < connection.port < 65536 and connection.password
    assert connection.sslmode in databases.SSL_MODES


def test_forms_and_round_trip(store: SqliteSiteStore) -> None:
    arcgis = (
        "SERVER=DB.example.com;INSTANCE=sde:postgresql:DB.example.com,6543;"
        "DBCLIENT=postgresql;DATABASE=gis;USER=reader;PASSWORD= p=w@% ;AUTHENTICATION_MODE=DBMS"
    )
    url = "postgresql://reader:%20p%3Dw%40%25%20@[::1]:6543/gis?sslmode=verify-full"
    first = databases.parse_connection_string(store, arcgis)
    second = databases.parse_connection_string(store, url)
    assert first == DatabaseConnection("db.example.com", 6543, "gis", "reader", " p=w@% ")
    assert second == DatabaseConnection("::1", 6543, "gis", "reader", " p=w@% ", "verify-full")
    item, _ = databases.checked_item(
        store, {"path": "/enterpriseDatabases/x", "type": "EGDB", "info": {"connectionString": url}}
    )
    shown = item.info["connectionString"]
    assert " p=w@% " not in shown and "%20p" not in shown and "SSLMODE=verify-full" in shown
    assert databases.parse_connection_string(store, shown) == second
    # A cipher text fits its own connection only.
    other = shown.replace("USER=reader", "USER=writer")
    with pytest.raises(InvalidParameter, match="does not decrypt"):
        databases.parse_connection_string(store, other)
    # The same password encrypts differently each time.
    again, _ = databases.checked_item(
        store, {"path": "/enterpriseDatabases/x", "type": "egdb", "info": {"connectionString": url}}
    )
    assert again.info["connectionString"] != shown
