"""Failover (issue 19): three real machines on one PostgreSQL behind a real nginx, under a
bounded mixed load (feature queries, admin reads, single-feature adds; 8 clients, 60 s), lose
a machine to SIGKILL, then lose PostgreSQL for a while. First, without load: nginx skips a
machine an administrator stopped.

Losing a machine: at least 99 % of requests succeed, all succeed again within 5 s of the
kill, every acknowledged add is in the data, and the machine, restarted on its data directory
and ports, reports STARTED and serves again (directly and through nginx). Losing PostgreSQL:
requests fail clearly while it is down (an answer with an error, never a hang or a dropped
connection), every machine recovers by itself within 30 s of its return, and every
acknowledged add is there. ``pytest -s`` prints the figures (docs/reliability.md).
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import pg
from tests.e2e.site3 import NGINX, USER, Site, start_site
from tests.e2e.test_serve import PASSWORD, publish_point

CLIENTS = 8
LOAD_S = 60.0
#: A request that takes longer than this is a hang (the load counts it as a failure).
CLIENT_TIMEOUT_S = 20.0
SERVICE = "Failover"
LAYER = f"/rest/services/{SERVICE}/FeatureServer/0"

pytestmark = [
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)"),
    pytest.mark.skipif(pg.missing() is not None, reason=str(pg.missing())),
]


@dataclass(frozen=True)
class Outcome:
    """One request of the load: when it started and ended, what it was, how it went."""

    start: float
    end: float
    kind: str
    ok: bool
    #: An answer came (an HTTP response, even an error); False: a timeout or a dropped
    #: connection.
    answered: bool
    detail: str
    object_id: int | None = None


def _judge(kind: str, response: httpx.Response) -> tuple[bool, str, int | None]:
    """Whether an answer is a success, what it said, and the objectId an add acknowledged."""
    try:
        body = response.json()
    except ValueError:
        return False, f"HTTP {response.status_code}: {response.text[:120]!r}", None
    if response.status_code != 200 or not isinstance(body, dict):
        return False, f"HTTP {response.status_code}: {json.dumps(body)[:160]}", None
    if "error" in body or body.get("status") == "error":
        return False, json.dumps(body)[:200], None
    if kind == "query":
        return isinstance(body.get("count"), int), json.dumps(body)[:120], None
    if kind == "admin":
        return isinstance(body.get("services"), list), json.dumps(body)[:120], None
    results = body.get("addResults") or [{}]
    added = results[0]
    if added.get("success") is True and isinstance(added.get("objectId"), int):
        return True, "", int(added["objectId"])
    return False, json.dumps(body)[:200], None


class Load:
    """``CLIENTS`` threads, each with a keep-alive client of its own, sending a fixed mix to
    ``base`` (two queries, an admin read, an add) until ``LOAD_S`` seconds have passed."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self.started = 0.0

    def _request(self, client: httpx.Client, kind: str, tag: str) -> httpx.Response:
        if kind == "query":
            return client.get(
                self.base + LAYER + "/query",
                params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
            )
        if kind == "admin":
            return client.get(
                self.base + "/admin/services", params={"f": "json", "token": self.token}
            )
        feature = {"geometry": {"x": 1.5, "y": 2.5}, "attributes": {"name": tag}}
        return client.post(
            self.base + LAYER + "/addFeatures",
            data={"f": "json", "token": self.token, "features": json.dumps([feature])},
        )

    def _client(self, number: int) -> None:
        kinds = ("query", "admin", "query", "add")
        sent = 0
        with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
            while time.monotonic() - self.started < LOAD_S:
                kind = kinds[sent % len(kinds)]
                sent += 1
                begun = time.monotonic()
                try:
                    response = self._request(client, kind, f"c{number}-{sent}")
                    ok, detail, object_id = _judge(kind, response)
                    answered = True
                except httpx.HTTPError as exc:
                    ok, detail, object_id, answered = False, repr(exc)[:200], None, False
                outcome = Outcome(
                    begun - self.started,
                    time.monotonic() - self.started,
                    kind,
                    ok,
                    answered,
                    detail,
                    object_id,
                )
                with self._lock:
                    self.outcomes.append(outcome)
                if not ok:
                    time.sleep(0.05)  # a failing site is not hammered by a tight loop

    def run(self, events: list[tuple[float, Callable[[], None]]]) -> dict[str, float]:
        """Run the load, doing each ``(second, action)`` of ``events`` at its time (in this
        thread); the seconds (since the start) at which each action was done."""
        self.started = time.monotonic()
        threads = [threading.Thread(target=self._client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        done: dict[str, float] = {}
        try:
            for at, action in events:
                time.sleep(max(0.0, at - (time.monotonic() - self.started)))
                done[action.__name__] = time.monotonic() - self.started
                action()
                done[action.__name__ + ".done"] = time.monotonic() - self.started
        finally:
            for thread in threads:
                thread.join(LOAD_S + 2 * CLIENT_TIMEOUT_S)
        return done

    def acknowledged(self) -> set[int]:
        return {o.object_id for o in self.outcomes if o.object_id is not None}

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def report(self, title: str) -> str:
        total = len(self.outcomes)
        good = total - len(self.failures())
        kinds = {k: sum(o.kind == k for o in self.outcomes) for k in ("query", "admin", "add")}
        return (
            f"{title}: {total} requests in {LOAD_S:.0f} s ({kinds}), {good} succeeded "
            f"({100 * good / max(total, 1):.3f} %), {len(self.acknowledged())} adds acknowledged"
            f"; the slowest success took {self.slowest():.2f} s"
        )

    def slowest(self) -> float:
        return max((o.end - o.start for o in self.outcomes if o.ok), default=0.0)


def _missing_edits(base: str, acknowledged: set[int]) -> set[int]:
    """The acknowledged objectIds that a query through ``base`` does not find."""
    found: set[int] = set()
    ordered = sorted(acknowledged)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        body = httpx.post(
            base + LAYER + "/query",
            data={
                "f": "json",
                "objectIds": ",".join(map(str, chunk)),
                "returnIdsOnly": "true",
            },
            timeout=60,
        ).json()
        found.update(body["objectIds"] or [])
    return acknowledged - found


def _served_by(machine_url: str, token: str) -> float:
    """How many requests to the service the machine counted in its metrics (since it started)."""
    text = httpx.get(
        machine_url + "/arcgis/admin/metrics", params={"token": token}, timeout=30
    ).text
    pattern = re.compile(
        r'^geosite_request_seconds_count\{[^}]*service="'
        + SERVICE
        + r'\.FeatureServer"[^}]*\} (\S+)$',
        re.M,
    )
    return sum(float(v) for v in pattern.findall(text))


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Site, pg.PgServer]]:
    """A PostgreSQL of this module's own (the second test restarts it), three machines on it,
    nginx in front, and a service that takes adds."""
    server = pg.start_server(Path(tempfile.mkdtemp(prefix="geosite-pg-failover-")))
    root = Path(tempfile.mkdtemp(prefix="geosite-failover-"))
    site: Site | None = None
    try:
        config = server.create_database("failover_config", postgis=False)
        data = server.create_database("failover_data")
        site = start_site(root, config, data)
        publish_point(
            site.machines[0], site.token(), root, SERVICE, {"name": "first"}, "Query,Create"
        )
        site.start_nginx()
        yield site, server
    finally:
        if site is not None:
            site.close()
            print(site.nginx_errors()[-3000:])
        server.remove()


def _token(site: Site) -> str:
    """A token from the token service, through nginx, bound to the client's address."""
    body = httpx.post(
        site.base + "/tokens/generateToken",
        data={"f": "json", "username": USER, "password": PASSWORD, "client": "requestip"},
        timeout=30,
    ).json()
    return str(body["token"])


def _wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.25)
    return False


def test_a_stopped_machine_is_skipped_behind_nginx(cluster: tuple[Site, pg.PgServer]) -> None:
    """A machine an administrator stopped answers HTTP 503 (with ArcGIS's error), so that
    nginx sends every read on to another machine; a POST it cannot resend fails clearly."""
    site, _ = cluster
    token = _token(site)
    machine = site.machines[2]
    query = LAYER + "/query"
    params = {"f": "json", "where": "1=1", "returnCountOnly": "true"}
    stopped = httpx.post(
        f"{site.admin}/machines/{machine.name}/stop", data={"f": "json", "token": token}
    ).json()
    assert stopped == {"status": "success"}, stopped
    try:
        direct = machine.url + "/arcgis" + query
        assert _wait_until(
            lambda: "error" in httpx.get(direct, params=params).json(), 10
        )  # each worker reads the machine's state at most once a second
        with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
            reads = [client.get(site.base + query, params=params) for _ in range(30)]
            posts = [client.post(site.base + query, data=params) for _ in range(30)]
        assert [_judge("query", r)[1] for r in reads if not _judge("query", r)[0]] == []
        refused_posts = [r for r in posts if not _judge("query", r)[0]]
        print(
            f"\nA stopped machine: 30 of 30 GETs through nginx succeeded, "
            f"{30 - len(refused_posts)} of 30 POSTs"
        )
        for answer in refused_posts:
            assert answer.status_code == 503 and answer.json()["error"]["code"] == 503
        refused = httpx.get(direct, params=params)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == 503
    finally:
        started = httpx.post(
            f"{site.admin}/machines/{machine.name}/start", data={"f": "json", "token": token}
        ).json()
        assert started == {"status": "success"}, started


def test_losing_a_machine_behind_nginx(cluster: tuple[Site, pg.PgServer]) -> None:
    site, _ = cluster
    token = _token(site)
    load = Load(site.base, token)
    victim = 1  # MACHINE2
    restarted: list[float] = []

    def kill_machine() -> None:
        site.machines[victim].kill()

    def restart_machine() -> None:
        begun = time.monotonic()
        site.machines[victim] = site.machines[victim].restart()
        restarted.append(time.monotonic() - begun)

    times = load.run([(15.0, kill_machine), (30.0, restart_machine)])
    killed_at = times["kill_machine"]
    failures = load.failures()
    last = max((f.end for f in failures), default=killed_at) - killed_at
    print(
        "\n"
        + load.report("Losing a machine")
        + f"; {len(failures)} failures, the last {last:.2f} s after the kill; the restart "
        f"took {restarted[0]:.1f} s"
    )
    for failure in failures[:20]:
        print("  failed:", failure)
    total = len(load.outcomes)
    assert total >= 200, f"the load hardly ran: {total} requests"
    assert len(failures) <= total / 100, [f.detail for f in failures[:20]]
    assert not [f for f in failures if f.end < killed_at], failures[:5]
    assert last <= 5.0, [f for f in failures if f.end - killed_at > 5.0][:5]
    assert not _missing_edits(site.base, load.acknowledged())

    machine = site.machines[victim]
    # It served requests of the load that came through nginx after its restart (nothing
    # else has asked it for the service yet).
    through_nginx = _served_by(machine.url, token)
    print(f"  {machine.name} answered {through_nginx:.0f} of them after its restart")

    def served_through_nginx() -> bool:  # when the restart ended late in the load: more
        if _served_by(machine.url, token) > 0:
            return True
        for _ in range(6):
            httpx.get(site.base + LAYER + "/query", params={"f": "json", "where": "1=1"})
        return False

    assert _wait_until(served_through_nginx, 30)
    # Through nginx, itself and each of the others (which go by its heartbeats).
    for url in (site.base, *(m.url + "/arcgis" for m in site.machines)):
        status = httpx.get(
            f"{url}/admin/machines/{machine.name}/status",
            params={"f": "json", "token": token},
            timeout=30,
        ).json()
        assert status == {"configuredState": "STARTED", "realTimeState": "STARTED"}, status
    direct = httpx.get(
        machine.url + "/arcgis" + LAYER + "/query",
        params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
        timeout=30,
    ).json()
    assert direct["count"] >= 1 + len(load.acknowledged()), direct


def test_losing_postgresql_behind_nginx(cluster: tuple[Site, pg.PgServer]) -> None:
    site, postgres = cluster
    token = _token(site)
    load = Load(site.base, token)

    def stop_postgresql() -> None:
        postgres.stop("fast")

    def start_postgresql() -> None:
        postgres.start()

    times = load.run([(15.0, stop_postgresql), (25.0, start_postgresql)])
    stopped, back = times["stop_postgresql"], times["start_postgresql.done"]
    failures = load.failures()
    last = max((f.end for f in failures), default=back) - back
    # Requests sent while it was down and answered before it began to start again: it
    # accepts connections a moment before pg_ctl start returns (``back``), and a request
    # that waited for it may commit in that moment.
    restarting = times["start_postgresql"]
    during = [o for o in load.outcomes if stopped + 0.5 < o.start and o.end < restarting]
    print(
        "\n"
        + load.report("Losing PostgreSQL")
        + f"; down from {stopped:.1f} s to {back:.1f} s, {len(during)} requests while down "
        f"({sum(o.ok for o in during)} succeeded); {len(failures)} failures, "
        + (f"the last {last:.2f} s after it was back" if last > 0 else "none after it was back")
    )
    for failure in failures[:: max(1, len(failures) // 15)]:
        print("  failed:", failure)
    # Clear failures: every request got an answer (an error envelope), none hung or dropped.
    assert not [f for f in failures if not f.answered], [f for f in failures if not f.answered][:5]
    assert not [f for f in failures if f.end < stopped], failures[:5]
    # No add is acknowledged while there is no database to keep it.
    assert not [o for o in during if o.kind == "add" and o.ok], [o for o in during if o.ok][:5]
    assert last <= 30.0, [f for f in failures if f.end - back > 30.0][:5]
    assert not _missing_edits(site.base, load.acknowledged())

    # Every machine serves again by itself (none was restarted): reads, admin and an add.
    for machine in site.machines:
        url = machine.url + "/arcgis"
        with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
            for kind in ("query", "admin", "add"):
                answer = Load(url, token)._request(client, kind, f"after-{machine.name}")
                ok, detail, _ = _judge(kind, answer)
                assert ok, (machine.name, kind, detail)
    # Each sees the others' heartbeats again, and a change made through one reaches all.
    first = site.machines[0]
    for machine in site.machines:
        assert _wait_until(
            lambda name=machine.name: _state(first.url, name, token) == "STARTED", 30
        ), machine.name
    changed = httpx.post(
        first.url + "/arcgis/admin/system/properties/update",
        data={"f": "json", "token": token, "properties": '{"WebContextURL": ""}'},
        timeout=30,
    ).json()
    assert changed["status"] == "success", changed
    for machine in site.machines:
        assert _wait_until(
            lambda url=machine.url: _properties(url, token) == {"WebContextURL": ""}, 10
        ), machine.name


def _state(url: str, name: str, token: str) -> str:
    """A machine's ``realTimeState`` as the machine at ``url`` sees it."""
    status = httpx.get(
        f"{url}/arcgis/admin/machines/{name}/status",
        params={"f": "json", "token": token},
        timeout=CLIENT_TIMEOUT_S,
    ).json()
    return str(status["realTimeState"])


def _properties(url: str, token: str) -> object:
    return httpx.get(
        url + "/arcgis/admin/system/properties",
        params={"f": "json", "token": token},
        timeout=CLIENT_TIMEOUT_S,
    ).json()
