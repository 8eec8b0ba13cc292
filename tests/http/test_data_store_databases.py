"""Registered PostgreSQL databases (``/admin/data``, type ``egdb``) against the real test
PostgreSQL: register, validate (a real connection), find, unregister (refused while a service
uses the database), and the password, which no answer, backup, log or stored value shows."""

from __future__ import annotations

import json
import secrets
import socket
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from geosite.core import databases, datastores
from geosite.core.models import Service
from geosite.errors import InvalidParameter
from geosite.http import admin, openapi
from tests.conftest import LiveSite
from tests.pg import PgServer

ROLE = "egdb_owner"


@dataclass(frozen=True)
class Database:
    """A role that logs in with a password (scram-sha-256) and its databases."""

    port: int
    password: str
    gis: str = "egdb_gis"
    plain: str = "egdb_plain"  # no PostGIS

    def pairs(self, database: str | None = None, **changes: str) -> str:
        """ArcGIS's form of a connection string, with ``changes`` (None drops a key)."""
        values: dict[str, str] = {
            "SERVER": "127.0.0.1",
            "INSTANCE": f"sde:postgresql:127.0.0.1,{self.port}",
            "DBCLIENT": "postgresql",
            "DB_CONNECTION_PROPERTIES": f"127.0.0.1,{self.port}",
            "DATABASE": database or self.gis,
            "USER": ROLE,
            "PASSWORD": self.password,
            "VERSION": "sde.DEFAULT",
            "AUTHENTICATION_MODE": "DBMS",
        }
        values.update(changes)
        return ";".join(f"{k}={v}" for k, v in values.items() if v is not None)


@pytest.fixture(scope="module")
def database(postgres: PgServer) -> Database:
    # Not alphanumeric only: '=', '@', '%', '/', a space and quotes test the quoting on every
    # path (';' cannot be in ArcGIS's form: it ends the pair).
    password = "pw=@%/ '\"" + secrets.token_urlsafe(12)
    literal = password.replace("'", "''")
    postgres.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{literal}'")
    postgres.create_database("egdb_gis")
    postgres.create_database("egdb_plain", postgis=False)
    hba = postgres.data / "pg_hba.conf"  # the test user keeps trust; this role must log in
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    postgres.psql("SELECT pg_reload_conf()")
    return Database(postgres.port, password)


def _post(site: LiveSite, operation: str, token: str, **data: Any) -> dict[str, Any]:
    answer = httpx.post(
        site.admin + operation, data={"f": "json", "token": token, **data}, timeout=60
    )
    return answer.json()  # type: ignore[no-any-return]


def _item(name: str, connection: str, **info: Any) -> str:
    return json.dumps(
        {
            "path": f"/enterpriseDatabases/{name}",
            "type": "egdb",
            "clientPath": None,
            "info": {
                "dataStoreConnectionType": "shared",
                "isManaged": False,
                "connectionString": connection,
                **info,
            },
        }
    )


def _url(db: Database) -> str:
    return (
        f"postgresql://{ROLE}:{quote(db.password, safe='')}@127.0.0.1:{db.port}/{db.gis}"
        "?sslmode=disable"
    )


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fresh(fresh_site: LiveSite) -> Iterator[tuple[LiveSite, str]]:
    yield fresh_site, fresh_site.token()


def test_register_find_validate_unregister(
    fresh: tuple[LiveSite, str], database: Database, tmp_path: Path
) -> None:
    site, token = fresh
    item = _item("gis", database.pairs())
    assert _post(site, "/data/validateDataItem", token, item=item) == {"status": "success"}
    assert _post(site, "/data/registerItem", token, item=item) == {
        "status": "success",
        "path": "/enterpriseDatabases/gis",
    }
    assert _post(site, "/data/registerItem", token, item=item)["code"] == 409
    by_url = _item("byurl", _url(database))
    assert _post(site, "/data/registerItem", token, item=by_url)["status"] == "success"

    found = _post(site, "/data/findItems", token, parentPath="/enterpriseDatabases")["items"]
    assert [(i["path"], i["type"]) for i in found] == [
        ("/enterpriseDatabases/byurl", "egdb"),
        ("/enterpriseDatabases/gis", "egdb"),
    ]
    shown = found[1]["info"]
    assert shown["dataStoreConnectionType"] == "shared" and shown["isManaged"] is False
    text = shown["connectionString"]
    assert text.startswith(
        f"SERVER=127.0.0.1;INSTANCE=sde:postgresql:127.0.0.1,{database.port};"
        f"DBCLIENT=postgresql;DB_CONNECTION_PROPERTIES=127.0.0.1,{database.port};"
        f"DATABASE=egdb_gis;USER={ROLE};AUTHENTICATION_MODE=DBMS;ENCRYPTED_PASSWORD=gs1."
    )
    assert "SSLMODE=disable" in found[0]["info"]["connectionString"]
    one = httpx.get(
        site.admin + "/data/items/enterpriseDatabases/gis", params={"f": "json", "token": token}
    ).json()
    assert one["info"] == shown
    listed = httpx.get(
        site.admin + "/data/items/enterpriseDatabases", params={"f": "json", "token": token}
    ).json()
    assert len(listed["items"]) == 2

    # Clients retest a registered database with the item findItems gave them.
    assert _post(site, "/data/validateDataItem", token, item=json.dumps(found[1])) == {
        "status": "success"
    }
    assert _post(site, "/data/validateAllDataItems", token) == {"status": "success"}
    # That cipher text decrypts for its own connection only: not towards another port.
    elsewhere = text.replace(f",{database.port}", f",{_closed_port()}")
    answer = _post(site, "/data/validateDataItem", token, item=_item("x", elsewhere))
    assert answer["code"] == 400 and "does not decrypt" in answer["messages"][0]

    # The core hands the password, decrypted, to the code that connects.
    connection = databases.database_connection(site.store, "/enterpriseDatabases/GIS")
    assert (connection.host, connection.port, connection.database, connection.user) == (
        "127.0.0.1",
        database.port,
        "egdb_gis",
        ROLE,
    )
    assert connection.password == database.password and connection.sslmode == "prefer"
    assert database.password not in repr(connection)

    # Unregistering is refused while a service reads from the database.
    site.store.add_service(
        Service(
            "",
            "Parcels",
            "FeatureServer",
            {"properties": {"dataPath": "/enterpriseDatabases/GIS/public.parcels"}},
        )
    )
    assert [s.name for s in datastores.services_using(site.store, "/enterpriseDatabases/gis")] == [
        "Parcels"
    ]
    assert datastores.services_using(site.store, "/enterpriseDatabases/gi") == []
    assert _post(site, "/data/computeTotalRefCount", token, path="/enterpriseDatabases/gis") == {
        "totalRefCount": 1
    }
    refused = _post(
        site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/gis", force="true"
    )
    assert refused["code"] == 409
    assert "Parcels.FeatureServer" in refused["messages"][0]
    assert site.store.delete_service("", "Parcels", "FeatureServer") is not None
    assert _post(
        site, "/data/computeTotalRefCount", token, itemPath="/enterpriseDatabases/gis"
    ) == {"totalRefCount": 0}

    # Nothing shows the password: not the store, a backup, nor the log.
    stored = site.store.get_data_item("/enterpriseDatabases/gis")
    assert stored is not None and database.password not in json.dumps(stored.info)
    backup = _post(site, "/exportSite", token)
    with zipfile.ZipFile(backup["location"]) as archive:
        for name in archive.namelist():
            assert database.password.encode() not in archive.read(name), name
        assert b"ENCRYPTED_PASSWORD=gs1." in archive.read("configuration.json")
    # A backup whose item holds the password in clear is not restored.
    tampered = Path(backup["location"]).with_name("tampered.agssite")
    with zipfile.ZipFile(backup["location"]) as source, zipfile.ZipFile(tampered, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "configuration.json":
                config = json.loads(data)
                for raw in config["data_items"]:
                    raw["info"]["connectionString"] = database.pairs()
                data = json.dumps(config).encode()
            out.writestr(name, data)
    refused = _post(site, "/importSite", token, location=str(tampered))
    assert refused["code"] == 400 and "not a database item" in refused["messages"][0]
    tampered.unlink()
    assert _post(site, "/importSite", token, location=backup["location"])["status"] == "success"
    restored = databases.database_connection(site.store, "/enterpriseDatabases/gis")
    assert restored.password == database.password

    for path in site.data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".gpkg":
            assert database.password.encode() not in path.read_bytes(), path

    assert _post(site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/gis") == {
        "status": "success"
    }
    assert (
        _post(site, "/data/unregisterItem", token, itempath="/enterpriseDatabases/gis")["code"]
        == 404
    )
    site.flush_logs()
    logs = _post(site, "/logs/query", token, level="DEBUG", pageSize="10000")
    assert logs["logMessages"] and database.password not in json.dumps(logs)


def _refusals(db: Database) -> list[tuple[str, str]]:
    """(connection string, a part of the message) that must be a 400."""
    return [
        (
            db.pairs(PASSWORD="wrong-" + db.password[::-1]),
            f"authentication failed for user '{ROLE}'",
        ),
        (
            db.pairs(DB_CONNECTION_PROPERTIES=f"127.0.0.1,{_closed_port()}", INSTANCE=None),
            "cannot be reached",
        ),
        (db.pairs(db.plain), "PostGIS is not installed in the database 'egdb_plain'"),
        (db.pairs("egdb_missing"), "the database 'egdb_missing' does not exist"),
        (db.pairs(DBCLIENT="sqlserver", INSTANCE=None), "Only PostgreSQL"),
        (db.pairs(DBCLIENT=None, INSTANCE="sde:oracle:x"), "Only PostgreSQL"),
        (db.pairs(AUTHENTICATION_MODE="OSA"), "AUTHENTICATION_MODE=DBMS"),
        (db.pairs(DB_CONNECTION_PROPERTIES="127.0.0.1,0"), "port"),
        (db.pairs(DB_CONNECTION_PROPERTIES="127.0.0.1,70000"), "port"),
        (db.pairs(DB_CONNECTION_PROPERTIES="127.0.0.1,5432x"), "port"),
        (db.pairs(DB_CONNECTION_PROPERTIES="/var/run/postgresql,5432"), "host"),
        (db.pairs(DB_CONNECTION_PROPERTIES="bad_host!,5432"), "host"),
        (db.pairs(DB_CONNECTION_PROPERTIES="a" * 300), "host"),
        (db.pairs(DATABASE="x" * 64), "database name"),
        (db.pairs(USER="a b"), "user name"),
        (db.pairs(PASSWORD=None), "Give the password"),
        (db.pairs(ENCRYPTED_PASSWORD="gs1.AAAA"), "Give the password"),  # both
        (db.pairs(PASSWORD=None, ENCRYPTED_PASSWORD="00022e686e3264"), "not made by this site"),
        (db.pairs(PASSWORD=None, ENCRYPTED_PASSWORD="gs1.AAAA"), "does not decrypt"),
        (db.pairs(PASSWORD=None, ENCRYPTED_PASSWORD="gs1.@@"), "does not decrypt"),
        (db.pairs(PASSWORD="a\x01b"), "control characters"),
        (db.pairs(PASSWORD="x" * 600), "characters long"),
        (db.pairs(SERVER="127.0.0.1\x00evil"), "NUL"),
        (db.pairs(SSLMODE="sometimes"), "sslmode"),
        (db.pairs(COLOR="blue"), "KEY=value"),
        (db.pairs() + ";" + "X" * 5000, "longer than"),
        ("", "connectionString"),
        ("postgresql://" + ROLE + "@127.0.0.1/egdb_gis", "postgresql://<user>:<password>"),
        (_url(db) + "&application_name=x", "only parameter"),
        ("postgresql://u:p@127.0.0.1:99999/d", "cannot be read"),
        ("mysql://u:p@127.0.0.1/d", "KEY=value"),
    ]


def test_refusals(site: LiveSite, admin_token: str, database: Database) -> None:
    web = int(site.http.rsplit(":", 1)[1])  # an HTTP server, not PostgreSQL
    cases = [
        *_refusals(database),
        (database.pairs(DB_CONNECTION_PROPERTIES=f"127.0.0.1,{web}"), "not a PostgreSQL server"),
    ]
    for connection, why in cases:
        started = time.monotonic()
        answer = _post(site, "/data/registerItem", admin_token, item=_item("bad", connection))
        assert answer["status"] == "error" and answer["code"] == 400, (connection, answer)
        assert why in " ".join(answer["messages"]), (why, answer)
        assert database.password not in json.dumps(answer)
        assert time.monotonic() - started < 15
        checked = _post(site, "/data/validateDataItem", admin_token, item=_item("bad", connection))
        assert checked["code"] == 400 and database.password not in json.dumps(checked)
    # A password holding ';' in ArcGIS's form: the part after it is never quoted back.
    split = database.pairs(PASSWORD="secret;tail-part=zz")
    answer = _post(site, "/data/registerItem", admin_token, item=_item("bad", split))
    assert answer["code"] == 400 and "tail-part" not in json.dumps(answer)
    for raw, why in (
        (_item("x", database.pairs(), isManaged=True), "isManaged"),
        (_item("x", database.pairs(), dataStoreConnectionType="cloud"), "dataStoreConnection"),
        (_item("../x", database.pairs()), "/enterpriseDatabases/<name>"),
        (json.dumps({"path": "/fileShares/x", "type": "egdb", "info": {}}), "egdb"),
        (json.dumps({"path": "/enterpriseDatabases/x", "type": "egdb", "info": "x"}), "info"),
    ):
        answer = _post(site, "/data/registerItem", admin_token, item=raw)
        assert answer["code"] == 400 and why in " ".join(answer["messages"]), (raw, answer)
    assert site.store.list_data_items() == []
    site.flush_logs()
    logs = _post(site, "/logs/query", admin_token, level="DEBUG", pageSize="10000")
    assert "authentication failed" in json.dumps(logs)  # the driver's words, for the log
    assert database.password not in json.dumps(logs)
    assert (
        _post(site, "/data/computeTotalRefCount", admin_token, path="/enterpriseDatabases/x")[
            "code"
        ]
        == 404
    )


def test_a_key_that_does_not_fit(fresh: tuple[LiveSite, str], database: Database) -> None:
    """A site restored from another site's backup has another key: the item says so."""
    site, token = fresh
    item = _item("gis", database.pairs())
    assert _post(site, "/data/registerItem", token, item=item)["status"] == "success"
    assert site.store.get_setting(databases.KEY_SETTING) is not None
    site.store.put_setting(databases.KEY_SETTING, {"key": "A" * 43 + "="})
    with pytest.raises(InvalidParameter, match="/enterpriseDatabases/gis/edit"):
        databases.database_connection(site.store, "/enterpriseDatabases/gis")
    answer = _post(site, "/data/validateAllDataItems", token)
    assert answer["code"] == 400 and "/enterpriseDatabases/gis" in json.dumps(answer)

    # The password is given again with edit; a wrong one, or another path, changes nothing.
    before = site.store.get_data_item("/enterpriseDatabases/gis")
    edit = "/data/items/enterpriseDatabases/gis/edit"
    for raw, code in (
        (_item("gis", database.pairs(PASSWORD="wrong")), 400),
        (_item("other", database.pairs()), 400),
        (json.dumps({"type": "folder", "info": {"path": "/tmp"}}), 400),
        ("[]", 400),
    ):
        assert _post(site, edit, token, item=raw)["code"] == code, raw
    assert _post(site, "/data/items/enterpriseDatabases/nope/edit", token, item=item)["code"] == (
        404
    )
    assert site.store.get_data_item("/enterpriseDatabases/gis") == before
    again = json.dumps({"info": json.loads(item)["info"]})  # path and type may be left out
    assert _post(site, edit, token, item=again) == {"status": "success"}
    connection = databases.database_connection(site.store, "/enterpriseDatabases/gis")
    assert connection.password == database.password
    after = site.store.get_data_item("/enterpriseDatabases/gis")
    assert after is not None and before is not None and after.created_ms == before.created_ms
    assert after.info["connectionString"] != before.info["connectionString"]
    assert _post(site, "/data/validateAllDataItems", token) == {"status": "success"}


def test_no_document_example_names_a_database() -> None:
    """The API fuzz (tests/fuzz) sends the document's examples and generated JSON whose keys
    are at most 8 characters or from its own list: without an info.connectionString, no
    generated item can make the server connect anywhere."""
    document = json.dumps(openapi.document([("/arcgis/admin", admin.ENDPOINTS)]))
    assert "connectionString" not in document


def test_a_folder_is_edited_too(fresh: tuple[LiveSite, str], tmp_path: Path) -> None:
    site, token = fresh
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    def folder(path: Path) -> str:
        return json.dumps(
            {"path": "/fileShares/gis", "type": "folder", "info": {"path": str(path)}}
        )

    assert _post(site, "/data/registerItem", token, item=folder(first))["status"] == "success"
    edit = "/data/items/fileShares/gis/edit"
    assert _post(site, edit, token, item=folder(tmp_path / "missing"))["code"] == 400
    assert _post(site, edit, token, item=folder(second)) == {"status": "success"}
    found = _post(site, "/data/findItems", token, parentPath="/fileShares")["items"]
    assert [i["info"]["path"] for i in found] == [str(second.resolve())]


def test_a_server_that_never_answers(site: LiveSite, admin_token: str, database: Database) -> None:
    """A listener that accepts and says nothing: the answer comes after the timeout (5 s)."""
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        port = mute.getsockname()[1]
        item = _item("mute", database.pairs(DB_CONNECTION_PROPERTIES=f"127.0.0.1,{port}"))
        started = time.monotonic()
        answer = _post(site, "/data/validateDataItem", admin_token, item=item)
        took = time.monotonic() - started
    assert answer["code"] == 400 and "did not answer within 5 s" in answer["messages"][0]
    assert 4 < took < 12
