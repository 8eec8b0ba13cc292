"""Soak: a real ``geosite serve`` under a mix of queries, edits, uploads and administration.

    .venv/bin/python benchmarks/soak.py                 # make soak: 10 minutes
    .venv/bin/python benchmarks/soak.py --minutes 1 --clients 4

``--clients`` threads (each its own HTTP connection) loop until the time is up, each drawing
its next step from a fixed mix:

- queries of the shared layer ``Soak`` (a bounding box, a count, a where clause, object ids);
- ``applyEdits`` on it: adds, updates of its own features, deletes of them (the layer stays
  about its starting size);
- an upload of a small GeoJSON file and ``createService`` from it, into the client's folder;
- administration of the client's own folder and services: create and delete a folder,
  rename, stop, start and delete a service; ``logs/query``.

Every answer is counted by its HTTP status and, for a JSON error, its envelope code. The run
reports the requests, the errors by code, the p50 and p99 latency, and the resident memory and
open files of the server's processes (from /proc) at the start and at the end. The start
figures are taken after a warm-up of the same mix (``--warmup``, default 60 s, not counted in
the run), the end figures after the clients closed their connections and the server had
``SETTLE_S`` seconds to finish what they started. The exit status is 1 when an answer had code
500, memory grew by 10 % or more, or open files did not come back to their starting count.

Open files are compared in two parts. Every kind but the stores' database files (sockets,
pipes, GeoPackages and their ``-wal``/``-shm``, deleted files) must come back to its starting
count. The stores' files (``site.db``, ``logs.db`` and their ``-wal``/``-shm``) follow the
threads: each thread that used a store holds its own connection, and SQLite keeps the
descriptor of a closed connection open for the next one while other connections of the
process hold locks on the file, so a worker's ``.db`` descriptors are the most connections it
had at once, not the ones it has now. They must stay within two per thread of the most threads
the process ran at once (sampled each half second): a leak, such as the connections of ended
threads never closing, passes that bound within minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import Service, _geosite_command, free_port, running
from memory import group_pids, mib, rss_bytes

ADMIN_USER = "soak"
#: Seconds of quiet before a snapshot: longer than the 10 s after which the server's idle
#: worker threads (and the SQLite connections each thread holds) are let go.
SETTLE_S = 12.0
#: The mix: step name and weight.
MIX = [
    ("query", 45),
    ("edit", 25),
    ("logs", 5),
    ("publish", 5),
    ("admin", 20),
]


def _points(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [rng.uniform(-170, 170), rng.uniform(-80, 80)],
            },
            "properties": {"name": f"p{i}", "value": rng.random(), "rank": i},
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@dataclass
class Tally:
    """What the clients saw (one lock: the counts are small next to the requests)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)
    samples_500: list[str] = field(default_factory=list)
    counting: bool = False

    def record(
        self, step: str, what: str, seconds: float, status: int, envelope: int | None
    ) -> None:
        with self.lock:
            if not self.counting:
                return
            self.latencies.append(seconds)
            self.by_step.setdefault(step, []).append(seconds)
            self.codes[f"HTTP {status}"] += 1
            if envelope is not None:
                self.codes[f"envelope {envelope}"] += 1
            if (status >= 500 or envelope == 500) and len(self.samples_500) < 20:
                self.samples_500.append(what)


def _envelope(response: httpx.Response) -> int | None:
    """The code of a JSON error envelope (or of a failed edit result's error), else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            code = body["error"].get("code")
            return int(code) if isinstance(code, int) else None
        if body.get("status") == "error":
            code = body.get("code")
            return int(code) if isinstance(code, int) else 400
    return None


class Client(threading.Thread):
    """One user: its own connection, folder and services; steps drawn from ``MIX``."""

    def __init__(self, number: int, base: str, token: str, tally: Tally, stop: threading.Event):
        super().__init__(name=f"soak-{number}", daemon=True)
        self.number, self.base, self.token, self.tally, self.stop = (
            number,
            base,
            token,
            tally,
            stop,
        )
        self.rng = random.Random(number)
        self.http = httpx.Client(timeout=120)
        self.folder = f"soak{number}"
        self.folder_exists = False
        self.services: list[str] = []  # in self.folder
        self.stopped: set[str] = set()
        self.added: list[int] = []
        self.serial = 0
        self.step = "setup"
        self.failure: BaseException | None = None

    # -- requests -------------------------------------------------------------------------
    def send(self, method: str, path: str, **params: Any) -> Any:
        files = params.pop("files", None)
        data = {"f": "json", "token": self.token, **params}
        started = time.perf_counter()
        if method == "GET":
            response = self.http.get(self.base + path, params=data)
        else:
            response = self.http.post(self.base + path, data=data, files=files)
        envelope = _envelope(response)
        self.tally.record(
            self.step,
            f"{method} {path} {str(params)[:200]} -> {response.text[:300]}",
            time.perf_counter() - started,
            response.status_code,
            envelope,
        )
        try:
            return response.json()
        except ValueError:
            return None

    def admin(self, path: str, **params: Any) -> Any:
        return self.send("POST", "/arcgis/admin" + path, **params)

    # -- steps ------------------------------------------------------------------------------
    def query(self) -> None:
        layer = "/arcgis/rest/services/Soak/FeatureServer/0/query"
        x, y = self.rng.uniform(-170, 150), self.rng.uniform(-80, 60)
        choice = self.rng.randrange(4)
        if choice == 0:
            self.send("GET", layer, geometry=f"{x},{y},{x + 20},{y + 20}", outFields="*")
        elif choice == 1:
            self.send("GET", layer, where="1=1", returnCountOnly="true")
        elif choice == 2:
            self.send("GET", layer, where=f"value > {self.rng.random():.3f}", outFields="name")
        else:
            ids = ",".join(str(self.rng.randrange(1, 600)) for _ in range(20))
            self.send("GET", layer, objectIds=ids, outFields="*", returnGeometry="false")

    def edit(self) -> None:
        layer = "/arcgis/rest/services/Soak/FeatureServer/0/applyEdits"
        if len(self.added) > 20 or (self.added and self.rng.random() < 0.3):
            gone, self.added = self.added[:10], self.added[10:]
            self.send("POST", layer, deletes=",".join(map(str, gone)))
            return
        adds = [
            {
                "geometry": {"x": self.rng.uniform(-170, 170), "y": self.rng.uniform(-80, 80)},
                "attributes": {"name": f"c{self.number}", "value": self.rng.random()},
            }
            for _ in range(self.rng.randrange(1, 6))
        ]
        updates = [
            {"attributes": {"OBJECTID": oid, "value": self.rng.random()}} for oid in self.added[-2:]
        ]
        body = self.send(
            "POST",
            layer,
            adds=json.dumps(adds),
            updates=json.dumps(updates),
            rollbackOnFailure="true",
        )
        if isinstance(body, dict):
            self.added += [r["objectId"] for r in body.get("addResults", []) if r.get("success")]

    def publish(self) -> None:
        if not self.folder_exists:
            self.create_folder()
        self.serial += 1
        name = f"s{self.number}_{self.serial}"
        upload = self.admin(
            "/uploads/upload",
            files={"itemFile": (f"{name}.geojson", _points(20, self.serial))},
        )
        item = (upload or {}).get("item", {}).get("itemID")
        if not item:
            return
        service = {
            "serviceName": name,
            "type": "FeatureServer",
            "folderName": self.folder,
            "capabilities": "Query",
            "properties": {"itemID": item},
        }
        answer = self.admin("/services/createService", service=json.dumps(service))
        if isinstance(answer, dict) and answer.get("status") == "success":
            self.services.append(name)
        self.admin(f"/uploads/{item}/delete")

    def create_folder(self) -> None:
        answer = self.admin("/services/createFolder", folderName=self.folder)
        self.folder_exists = isinstance(answer, dict) and answer.get("status") == "success"

    def administer(self) -> None:
        if not self.folder_exists:
            self.create_folder()
            return
        if not self.services:
            self.admin(f"/services/{self.folder}/deleteFolder")
            self.folder_exists = False
            return
        name = self.rng.choice(self.services)
        base = f"/services/{self.folder}/{name}.FeatureServer"
        choice = self.rng.randrange(4)
        if choice == 0:
            new = f"{name}r"
            answer = self.admin(
                f"/services/{self.folder}/renameService",
                serviceName=name,
                serviceType="FeatureServer",
                serviceNewName=new,
            )
            if isinstance(answer, dict) and answer.get("status") == "success":
                self.services[self.services.index(name)] = new
                if name in self.stopped:
                    self.stopped.discard(name)
                    self.stopped.add(new)
        elif choice == 1:
            action = "start" if name in self.stopped else "stop"
            self.admin(f"{base}/{action}")
            (self.stopped.discard if action == "start" else self.stopped.add)(name)
        elif choice == 2 or len(self.services) > 3:
            self.admin(f"{base}/delete")
            self.services.remove(name)
            self.stopped.discard(name)
        elif name not in self.stopped:  # a stopped service answers "not started" (code 500)
            self.send("GET", f"/arcgis/rest/services/{self.folder}/{name}/FeatureServer/0/query",
                      where="1=1", returnCountOnly="true")  # fmt: skip

    def logs(self) -> None:
        self.admin("/logs/query", level="WARNING", pageSize="50")

    def run(self) -> None:
        steps = {
            "query": self.query,
            "edit": self.edit,
            "logs": self.logs,
            "publish": self.publish,
            "admin": self.administer,
        }
        names = [name for name, _ in MIX]
        weights = [weight for _, weight in MIX]
        try:
            while not self.stop.is_set():
                step = self.rng.choices(names, weights)[0]
                self.step = step
                steps[step]()
                with self.tally.lock:
                    self.tally.steps[step] += 1
            self.step = "admin"
            self.clean_up()
        except BaseException as error:  # reported by main: a client that died is a failure
            self.failure = error
        finally:
            self.http.close()

    def clean_up(self) -> None:
        """Delete the client's services and folder: the site ends as it started."""
        for name in self.services:
            self.admin(f"/services/{self.folder}/{name}.FeatureServer/delete")
        self.services.clear()
        if self.folder_exists:
            self.admin(f"/services/{self.folder}/deleteFolder")
            self.folder_exists = False


def open_files(pids: list[int]) -> Counter[str]:
    """Open file descriptors of ``pids`` by kind: socket, pipe, anon, deleted, or the file's
    suffix (``.gpkg``, ``.sqlite-wal``...)."""
    kinds: Counter[str] = Counter()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.endswith("(deleted)"):
                        kinds["deleted file"] += 1
                    elif ":" in target and not target.startswith("/"):
                        kinds[target.split(":")[0]] += 1  # socket, pipe, anon_inode
                    else:
                        kinds[Path(target).suffix or Path(target).name] += 1
    return kinds


def _short(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[-60:]
    return "?"


def _threads(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


#: The suffixes of the stores' files (``site.db``, ``logs.db``).
STORE_KINDS = (".db", ".db-wal", ".db-shm")


class ThreadPeaks(threading.Thread):
    """Samples the server processes' thread counts until stopped; the most of each."""

    def __init__(self, service: Service) -> None:
        super().__init__(daemon=True)
        self._service = service
        self.peaks: Counter[int] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid in group_pids(self._service):
                self.peaks[pid] = max(self.peaks[pid], _threads(pid))


def _percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``values`` in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return 0.0, 0.0
    return statistics.median(ordered) * 1000, ordered[
        min(len(ordered) - 1, int(len(ordered) * 0.99))
    ] * 1000


def snapshot(service: Service, base: str) -> dict[str, Any]:
    """Memory and open files after ``SETTLE_S`` quiet seconds and a few queries (which let
    the thread pools retire their idle threads), taken the same way at the start and end."""
    time.sleep(SETTLE_S)
    with httpx.Client(timeout=60) as client:
        for _ in range(4):
            client.get(
                f"{base}/arcgis/rest/services/Soak/FeatureServer/0/query",
                params={"f": "json", "where": "1=1", "returnCountOnly": "true"},
            )
    time.sleep(1.0)
    pids = group_pids(service)
    kinds = open_files(pids)
    if os.environ.get("SOAK_FD_DETAIL"):
        for pid in pids:
            detail = {k: v for k, v in open_files([pid]).items() if ".db" in k or "deleted" in k}
            print(f"   pid {pid} {_short(pid)}: {_threads(pid)} threads, {detail}")
    return {
        "processes": len(pids),
        "threads": sum(_threads(pid) for pid in pids),
        "store_db_files": {pid: open_files([pid]).get(".db", 0) for pid in pids},
        "rss_bytes": rss_bytes(pids),
        "open_files": sum(kinds.values()),
        "open_files_by_kind": dict(sorted(kinds.items())),
    }


def _run_clients(
    base: str, token: str, tally: Tally, clients: int, seconds: float, first: int
) -> list[str]:
    stop = threading.Event()
    threads = [Client(first + i, base, token, tally, stop) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=180)
    return [f"{t.name}: {t.failure!r}" for t in threads if t.failure is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds, not counted")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=500, help="features of the shared layer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="geosite-soak-") as tmp_name:
        tmp = Path(tmp_name)
        password = os.urandom(12).hex()
        port = free_port()
        command = [
            _geosite_command(), "serve", "--data-dir", str(tmp / "data"), "--port", str(port),
            "--https-port", str(free_port()), "--workers", str(args.workers),
            "--admin-user", ADMIN_USER, "--admin-password", password,
        ]  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        service = Service("geosite", command, tmp / "geosite.log", dict(os.environ))
        health = f"{base}/arcgis/rest/info/healthCheck?f=json"
        with running(service, health, lambda r: r.status_code == 200):
            token = httpx.post(
                f"{base}/arcgis/admin/generateToken",
                data={"username": ADMIN_USER, "password": password, "client": "requestip",
                      "f": "json", "expiration": "1440"},
            ).json()["token"]  # fmt: skip
            publisher = Client(-1, base, token, Tally(), threading.Event())
            item = publisher.admin(
                "/uploads/upload", files={"itemFile": ("soak.geojson", _points(args.points, 0))}
            )["item"]["itemID"]
            definition = {"serviceName": "Soak", "type": "FeatureServer",
                          "capabilities": "Query,Create,Update,Delete",
                          "properties": {"itemID": item}}  # fmt: skip
            answer = publisher.admin("/services/createService", service=json.dumps(definition))
            if answer.get("status") != "success":
                raise SystemExit(f"publishing failed: {answer}")
            idle = snapshot(service, base)
            peaks = ThreadPeaks(service)
            peaks.start()
            tally = Tally()
            failures = _run_clients(base, token, tally, args.clients, args.warmup, 0)
            start = snapshot(service, base)
            tally.counting = True
            started = time.monotonic()
            failures += _run_clients(base, token, tally, args.clients, args.minutes * 60, 100)
            elapsed = time.monotonic() - started
            tally.counting = False
            end = snapshot(service, base)
            peaks.done.set()
            peaks.join()
            end["thread_peaks"] = dict(peaks.peaks)
            log_tail = (tmp / "geosite.log").read_text(errors="replace")[-3000:]
    _report(args, tally, elapsed, idle, start, end, failures, log_tail)


def _report(
    args: argparse.Namespace,
    tally: Tally,
    elapsed: float,
    idle: dict[str, Any],
    start: dict[str, Any],
    end: dict[str, Any],
    failures: list[str],
    log_tail: str,
) -> None:
    count = len(tally.latencies)
    p50, p99 = _percentiles(tally.latencies)
    errors_500 = tally.codes.get("envelope 500", 0) + sum(
        n for code, n in tally.codes.items() if code.startswith("HTTP 5")
    )
    growth = (end["rss_bytes"] - start["rss_bytes"]) / max(start["rss_bytes"], 1)
    print(
        f"soak: {args.minutes:g} min ({elapsed:.0f} s measured, {args.warmup:g} s warm-up), "
        f"{args.clients} clients, geosite serve --workers {args.workers}"
    )
    print(f"requests: {count:,} ({count / max(elapsed, 1e-9):,.1f}/s)")
    print("steps:", ", ".join(f"{k} {v:,}" for k, v in sorted(tally.steps.items())))
    print("answers by code:", ", ".join(f"{k}: {v:,}" for k, v in sorted(tally.codes.items())))
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    for step, values in sorted(tally.by_step.items()):
        step_p50, step_p99 = _percentiles(values)
        print(
            f"  {step:>8}: {len(values):,} requests, p50 {step_p50:.1f} ms, p99 {step_p99:.1f} ms"
        )
    for label, shot in (("idle", idle), ("start", start), ("end", end)):
        print(
            f"{label:>5}: {shot['processes']} processes, {shot['threads']} threads, "
            f"resident {mib(shot['rss_bytes']):.1f} MiB, "
            f"open files {shot['open_files']} {shot['open_files_by_kind']}"
        )
    print(f"memory growth start -> end: {growth:+.1%}")
    ok = True
    if errors_500:
        ok = False
        print(f"FAIL: {errors_500} answers with code 500, e.g.:")
        for sample in tally.samples_500:
            print("  ", sample)
    if growth >= 0.10:
        ok = False
        print("FAIL: resident memory grew by 10 % or more")
    if not _open_files_came_back(start, end):
        ok = False
    if failures:
        ok = False
        print("FAIL: clients stopped on an exception:", *failures, sep="\n  ")
    if not ok:
        print("server log tail:\n" + log_tail)
    raise SystemExit(0 if ok else 1)


def _open_files_came_back(start: dict[str, Any], end: dict[str, Any]) -> bool:
    """Every kind but the stores' files back to its start; the stores' ``.db`` descriptors
    within two per thread of each process's most threads (see the module's text)."""
    ok = True
    kinds = set(start["open_files_by_kind"]) | set(end["open_files_by_kind"])
    for kind in sorted(kinds - set(STORE_KINDS)):
        before = start["open_files_by_kind"].get(kind, 0)
        after = end["open_files_by_kind"].get(kind, 0)
        if after > before:
            ok = False
            print(f"FAIL: open files of kind {kind}: {before} at the start, {after} at the end")
    stores = {k: end["open_files_by_kind"].get(k, 0) for k in STORE_KINDS}
    print(f"store files at the end: {stores}; .db descriptors and most threads by process:")
    for pid, count in sorted(end["store_db_files"].items()):
        peak = end["thread_peaks"].get(pid, 0)
        print(f"  pid {pid}: {count} .db descriptors, at most {peak} threads at once")
        if count > 2 * peak:
            ok = False
            print(f"FAIL: pid {pid} holds more than two store files per thread it ran")
    return ok


if __name__ == "__main__":
    main()
