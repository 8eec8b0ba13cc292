"""W3's rows and measurements: repeated load runs, the argon2id peer, the token check."""

from __future__ import annotations

import argparse
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import ADMIN_USER, Run, Service, _rusage_cpu, console, timed_run
from loadgen import LoadGenerator, LoadResult, LoadSpec

LOGIN_TARGET = 80.0
READ_TARGET = 3000.0
TOKEN_CHECK_TARGET_US = 50.0


@dataclass
class Row:
    """One line of the report: a workload (or a peer) and its repeated runs."""

    key: str
    title: str
    unit: str = "req/s"
    target: float | None = None
    peer: str | None = None
    runs: list[Run] = field(default_factory=list)
    warmup: Run | None = None
    note: str = ""

    @property
    def median(self) -> Run:
        """The run with the median rate (its latencies are reported with it)."""
        ordered = sorted(self.runs, key=lambda r: r.load.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        """Errors over every measured run."""
        return sum(r.load.errors for r in self.runs)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        median = self.median
        return {
            "title": self.title,
            "unit": self.unit,
            "target": self.target,
            "peer": self.peer,
            "note": self.note,
            "median": median.as_dict(),
            "rate_median": round(median.load.rps, 1),
            "rate_all": [round(r.load.rps, 1) for r in self.runs],
            "errors_total": self.errors,
            "runs": [r.as_dict() for r in self.runs],
            "warmup": self.warmup.as_dict() if self.warmup else None,
        }


def measure(
    row: Row,
    generator: LoadGenerator,
    spec: LoadSpec,
    args: argparse.Namespace,
    service: Service | None,
) -> Row:
    """Warm up, then measure ``args.repeat`` times."""
    console.print(f"  {row.title}: warm-up {args.warmup:g} s, {args.repeat} x {args.duration:g} s")
    if args.warmup > 0:
        row.warmup = timed_run(generator, spec, args.concurrency, args.warmup, service)
    for _ in range(args.repeat):
        run = timed_run(generator, spec, args.concurrency, args.duration, service)
        row.runs.append(run)
        console.print(
            f"    {run.load.rps:,.0f} {row.unit}, p50 {run.load.p50_ms:.2f} ms, "
            f"p99 {run.load.p99_ms:.2f} ms, errors {run.load.errors}"
        )
    return row


def _argon2_pass(verify: Callable[[], bool], seconds: float, threads: int) -> Run:
    """Call ``verify`` on ``threads`` threads for ``seconds`` (argon2-cffi releases the GIL)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        mine = latencies[index]
        while time.perf_counter() < deadline and len(mine) < 100_000:
            began = time.perf_counter()
            if not verify():
                failures[index] += 1
            mine.append(time.perf_counter() - began)

    own_before = _rusage_cpu()
    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 30)
    elapsed = time.perf_counter() - started
    merged = sorted(x for part in latencies for x in part)
    if not merged:
        raise RuntimeError("argon2id verification made no progress")
    load = LoadResult(
        requests=len(merged),
        seconds=elapsed,
        p50_ms=merged[len(merged) // 2] * 1000,
        p99_ms=merged[min(len(merged) - 1, int(0.99 * len(merged)))] * 1000,
        mean_ms=sum(merged) / len(merged) * 1000,
        max_ms=merged[-1] * 1000,
        errors=sum(failures),
        bad_status=0,
        bad_body=sum(failures),
        socket_errors=0,
        bodies_checked=len(merged),
    )
    return Run(load, _rusage_cpu() - own_before, 0.0)


def argon2_peer(seconds: float, repeat: int, threads: int = 2) -> Row:
    """argon2id verifications per second on ``threads`` threads, with geosite's parameters."""
    from argon2 import PasswordHasher, extract_parameters

    from geosite.core import passwords

    password = secrets.token_urlsafe(18)
    params = extract_parameters(passwords.hash_password(password))
    hasher = PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
    )
    encoded = hasher.hash(password)
    row = Row(
        "argon2_verify",
        f"peer: argon2id verify, {threads} threads",
        unit="verify/s",
        note=(
            f"argon2-cffi, m={params.memory_cost} KiB, t={params.time_cost}, "
            f"p={params.parallelism} (read from a hash made by geosite.core.passwords)"
        ),
    )
    console.print(f"  {row.title}: {repeat} x {seconds:g} s")
    row.warmup = _argon2_pass(lambda: hasher.verify(encoded, password), seconds, threads)
    for _ in range(repeat):
        run = _argon2_pass(lambda: hasher.verify(encoded, password), seconds, threads)
        row.runs.append(run)
        console.print(f"    {run.load.rps:,.1f} verify/s, p50 {run.load.p50_ms:.1f} ms per verify")
    return row


def token_check_micro(data_dir: Path, token: str, seconds: float) -> dict[str, Any]:
    """In-process cost of checking one token: signature only, user row, and the full check."""
    from geosite.core import tokens
    from geosite.core.clock import SystemClock
    from geosite.core.security import Authenticator
    from geosite.core.site import read_pointer
    from geosite.storage import load_stores

    pointer = read_pointer(data_dir)
    if pointer is None:
        raise RuntimeError(f"no site in {data_dir}")
    clock = SystemClock()
    store, logs = load_stores(pointer.config_store)
    try:
        auth = Authenticator(store, clock)
        cache: dict[int, str | None] = {}

        def secret_for(version: int) -> str | None:
            if version not in cache:
                cache[version] = store.token_key(version)
            return cache[version]

        def time_calls(call: Callable[[], object]) -> float:
            call()
            count, started = 0, time.perf_counter()
            deadline = started + seconds
            while count < 500_000 and time.perf_counter() < deadline:
                for _ in range(100):
                    call()
                count += 100
            return (time.perf_counter() - started) / count * 1e6

        results = {
            "signature_and_claims_us": time_calls(
                lambda: tokens.verify(token, secret_for, clock.now_ms(), "127.0.0.1", "")
            ),
            "sqlite_get_user_us": time_calls(lambda: store.get_user(ADMIN_USER)),
            "authenticator_verify_us": time_calls(lambda: auth.verify(token, "127.0.0.1", "")),
        }
    finally:
        store.close()
        logs.close()
    return {k: round(v, 2) for k, v in results.items()}
