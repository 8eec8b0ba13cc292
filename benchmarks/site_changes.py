"""How long a configuration change made through one machine takes to reach the others.

Used by ``site_machines.py``: each change is posted to machine 1; meanwhile one thread per
other machine asks that machine, on a new connection each time (so any of its workers may
answer), every ``POLL_S`` seconds until it answers with the change. Two kinds of change:

* ``service``: ``services/<name>.<type>/stop`` and ``start`` in turns; a machine serves the
  change when the service's REST root answers an error (stopped) or its layers (started);
* ``properties``: ``system/properties/update`` with a counter; a machine serves the change
  when its ``system/properties`` show the new value.

The latency of a change on a machine is from the moment machine 1 acknowledged it (its
answer arrived) to the arrival of the first answer of that machine that shows it (an upper
bound: the machine served it somewhere between sending that request and answering it). A
machine may show it before machine 1's answer arrives; that counts as 0 and is reported.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

#: Seconds between two reads of a machine while waiting for a change.
POLL_S = 0.005
#: A change not seen within this long counts as missed.
DEADLINE_S = 10.0
#: Pause between two changes, after every machine showed the previous one.
PAUSE_S = 0.05

Check = Callable[[httpx.Response], bool]


@dataclass
class Seen:
    """One change on one machine."""

    after_ack_s: float | None  # None: not seen within DEADLINE_S
    after_send_s: float | None
    polls: int
    #: Seconds the answer that showed the change took (the change was served within them).
    round_trip_s: float | None = None


@dataclass
class ChangeResult:
    """Every change of one kind: machine 1's acknowledgement times and each machine's delays."""

    kind: str
    description: str
    ack_s: list[float] = field(default_factory=list)
    seen: dict[str, list[Seen]] = field(default_factory=dict)

    def delays(self, machine: str | None = None) -> list[float]:
        """Seconds from acknowledgement to seen (0 when seen earlier), missed ones left out."""
        rows = self.seen.values() if machine is None else [self.seen[machine]]
        return [max(0.0, s.after_ack_s) for row in rows for s in row if s.after_ack_s is not None]

    def missed(self, machine: str | None = None) -> int:
        rows = self.seen.values() if machine is None else [self.seen[machine]]
        return sum(1 for row in rows for s in row if s.after_ack_s is None)

    def before_ack(self) -> int:
        return sum(
            1
            for row in self.seen.values()
            for s in row
            if s.after_ack_s is not None and s.after_ack_s < 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "description": self.description,
            "changes": len(self.ack_s),
            "ack_ms": summary(self.ack_s),
            "delay_ms": summary(self.delays()),
            "delay_ms_per_machine": {m: summary(self.delays(m)) for m in self.seen},
            "missed": self.missed(),
            "seen_before_ack": self.before_ack(),
            "round_trip_ms": summary(
                [s.round_trip_s for row in self.seen.values() for s in row if s.round_trip_s]
            ),
            "raw": {
                m: [
                    {
                        "after_ack_ms": _ms(s.after_ack_s),
                        "after_send_ms": _ms(s.after_send_s),
                        "polls": s.polls,
                        "round_trip_ms": _ms(s.round_trip_s),
                    }
                    for s in row
                ]
                for m, row in self.seen.items()
            },
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float | int]:
    """p50, p99 and max in milliseconds, and how many values."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(max(values) * 1000, 2),
    }


def _wait_for(
    client: httpx.Client, url: str, check: Check, began: float
) -> tuple[float, int, float]:
    """Ask ``url`` until ``check`` holds; (when it answered, polls, that answer's seconds).
    The client sends ``Connection: close``: a new connection each time, without building a
    new client (and its TLS context, tens of milliseconds) each time."""
    polls = 0
    while time.monotonic() - began < DEADLINE_S:
        polls += 1
        asked = time.monotonic()
        try:
            answer = client.get(url)
        except httpx.HTTPError:
            answer = None
        arrived = time.monotonic()
        if answer is not None and check(answer):
            return arrived, polls, arrived - asked
        time.sleep(POLL_S)
    return float("nan"), polls, float("nan")


class ChangeRunner:
    """Changes through ``first`` (a machine's base URL), watched on ``others`` (name: base)."""

    def __init__(self, first: str, others: dict[str, str], token: str) -> None:
        self.first, self.others = first, others
        self.headers = {"X-Esri-Authorization": f"Bearer {token}"}

    def _post(self, client: httpx.Client, path: str, data: dict[str, str]) -> None:
        answer = client.post(
            self.first + "/arcgis/admin/" + path,
            data={"f": "json", **data},
            headers=self.headers,
        )
        body = answer.json()
        if answer.status_code != 200 or body.get("status") != "success":
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")

    def run(
        self,
        kind: str,
        description: str,
        changes: int,
        change: Callable[[httpx.Client, int], None],
        watch: Callable[[int], tuple[str, Check]],
    ) -> ChangeResult:
        """``changes`` changes; ``change(client, i)`` makes the i-th through machine 1,
        ``watch(i)`` gives the path to read on the others and how to recognise it there."""
        result = ChangeResult(kind, description, seen={name: [] for name in self.others})
        readers = {
            name: httpx.Client(timeout=DEADLINE_S, headers={**self.headers, "Connection": "close"})
            for name in self.others
        }
        with (
            httpx.Client(timeout=DEADLINE_S) as client,
            ThreadPoolExecutor(len(self.others)) as pool,
            contextlib.ExitStack() as stack,
        ):
            for reader in readers.values():
                stack.enter_context(reader)
            for index in range(changes):
                path, check = watch(index)
                sent = time.monotonic()
                waits: dict[str, Future[tuple[float, int, float]]] = {
                    name: pool.submit(_wait_for, readers[name], base + path, check, sent)
                    for name, base in self.others.items()
                }
                change(client, index)
                acked = time.monotonic()
                result.ack_s.append(acked - sent)
                for name, future in waits.items():
                    when, polls, took = future.result()
                    if when != when:  # NaN: not seen in time
                        result.seen[name].append(Seen(None, None, polls))
                    else:
                        result.seen[name].append(Seen(when - acked, when - sent, polls, took))
                time.sleep(PAUSE_S)
        return result

    def service_changes(self, changes: int, service: str) -> ChangeResult:
        """Stop and start ``service`` (``name.FeatureServer``) in turns; ends started."""
        name = service.rsplit(".", 1)[0]
        root = f"/arcgis/rest/services/{name}/FeatureServer?f=json"

        def change(client: httpx.Client, index: int) -> None:
            self._post(client, f"services/{service}/{'stop' if index % 2 == 0 else 'start'}", {})

        def watch(index: int) -> tuple[str, Check]:
            if index % 2 == 0:
                return root, lambda r: '"layers"' not in r.text and "error" in r.text
            return root, lambda r: r.status_code == 200 and '"layers"' in r.text

        result = self.run(
            "service",
            f"services/{service}/stop and /start in turns, seen in the service's REST root",
            changes + changes % 2,  # an even number: the service is started at the end
            change,
            watch,
        )
        return result

    def properties_changes(self, changes: int) -> ChangeResult:
        """``system/properties/update`` with a new ``benchmarkChange`` value each time."""
        path = "/arcgis/admin/system/properties?f=json"

        def change(client: httpx.Client, index: int) -> None:
            value = json.dumps({"benchmarkChange": str(index)})
            self._post(client, "system/properties/update", {"properties": value})

        def watch(index: int) -> tuple[str, Check]:
            def check(answer: httpx.Response) -> bool:
                try:
                    return bool(answer.json().get("benchmarkChange") == str(index))
                except ValueError:
                    return False

            return path, check

        return self.run(
            "properties",
            "system/properties/update, seen in system/properties",
            changes,
            change,
            watch,
        )
