"""Sample server worker processes with py-spy under load and say where the time goes.

py-spy runs in ``--gil`` mode: a sample is taken only when some thread of the worker holds
the GIL, i.e. runs Python code or C code called without releasing it (socket writes, futex
wake-ups, orjson). One event-loop thread and the GIL bound a worker's throughput, so the share
of samples per bucket says what to cut. Each stack goes to the first bucket of ``BUCKETS`` it
matches: the request log and the token check before the generic layers. The shares are turned
into microseconds by apportioning the server's measured CPU time per request (from /proc).

Caveat: on a machine shared with the load generator a worker is sometimes preempted while it
holds the GIL, mostly right after writing a response (the write wakes the client). Those
samples land in the socket-write bucket, which is therefore inflated, in the peer as well.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadgen import LoadResult
from rich.console import Console
from rich.table import Table

Stack = list[str]  # frames, root first: "Class.function (path/to/file.py)"
SAMPLE_RATE = 100  # samples per second and worker


def _has(*needles: str) -> Callable[[Stack], bool]:
    return lambda stack: any(n in frame for frame in stack for n in needles)


def _leaf_in(*needles: str) -> Callable[[Stack], bool]:
    return lambda stack: bool(stack) and any(n in stack[-1] for n in needles)


def _both(a: Callable[[Stack], bool], b: Callable[[Stack], bool]) -> Callable[[Stack], bool]:
    return lambda stack: a(stack) and b(stack)


def _everything(stack: Stack) -> bool:
    return True


#: (bucket, predicate), first match wins.
BUCKETS: list[tuple[str, Callable[[Stack], bool]]] = [
    ("log writer thread: batched SQLite INSERTs", _has("_run (geosite/core/logs.py")),
    (
        "token check: SQLite user row (get_user)",
        _both(_has("verify (geosite/core/security.py"), _has("geosite/storage/sqlite.py")),
    ),
    (
        "token check: signature, claims, nonce, privilege",
        _has("geosite/core/security.py", "geosite/core/tokens.py"),
    ),
    ("request log on the request path (_log_request)", _has("_log_request (", "LogWriter.log (")),
    ("thread-pool hop, event-loop side (to_thread.run_sync)", _has("run_sync (anyio/to_thread.py")),
    (
        "thread-pool hop, worker side (wake-up, result hand-back)",
        _both(_has("WorkerThread.run (anyio"), lambda s: not _has("(geosite/")(s)),
    ),
    ("request id (secrets.token_hex: getrandom syscall)", _has("token_hex (secrets.py")),
    ("JSON rendering + Response object (json_response)", _has("json_response (")),
    ("handler (Site.root etc.)", _has("geosite/http/admin/", "geosite/core/site.py")),
    ("parameter parsing (read_params)", _has("read_params (")),
    ("_authorize: token_from, Call, request.url/headers", _has("_authorize (")),
    ("geosite routing (Router.match)", _has("match (geosite/http/routing.py")),
    ("geosite dispatch own code (entry, handle, _run)", _leaf_in("(geosite/")),
    ("response write to the socket (uvicorn send)", _has("RequestResponseCycle.send (")),
    ("Starlette (app, middleware, routing, Request)", _has("starlette/")),
    ("uvicorn + httptools protocol", _has("uvicorn/")),
    ("other (event loop, asyncio)", _everything),
]


@dataclass
class ProfileReport:
    """What the sampled window says about one workload on one server."""

    label: str
    files: list[Path]
    samples: int
    requests: int
    seconds: float
    cpu_s: float
    buckets: list[tuple[str, int]] = field(default_factory=list)
    top_inclusive: list[tuple[str, int]] = field(default_factory=list)
    top_self: list[tuple[str, int]] = field(default_factory=list)
    mode: str = "GIL-held"  # or "running-thread" (sampled without --gil, idle stacks left out)

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU time (all threads, user and system) per request during the window."""
        return self.cpu_s / self.requests * 1e6 if self.requests else 0.0

    def us(self, count: int) -> float:
        """Server CPU microseconds per request apportioned to ``count`` samples."""
        return count / self.samples * self.cpu_us_per_request if self.samples else 0.0

    @property
    def gil_us_per_request(self) -> float:
        """Wall time the GIL was held per request (includes preemption while holding it)."""
        return self.samples / SAMPLE_RATE / self.requests * 1e6 if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "label": self.label,
            "files": [str(f) for f in self.files],
            "sample_rate": SAMPLE_RATE,
            "samples": self.samples,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_us_per_request": round(self.cpu_us_per_request, 1),
            "gil_us_per_request": round(self.gil_us_per_request, 1),
            "mode": self.mode,
            "buckets": [
                {"bucket": name, "samples": n, "cpu_us_per_request": round(self.us(n), 1)}
                for name, n in self.buckets
            ],
            "top_inclusive": [{"frame": f, "samples": n} for f, n in self.top_inclusive],
            "top_self": [{"frame": f, "samples": n} for f, n in self.top_self],
        }

    def print(self, console: Console, *, frames: int = 15) -> None:
        """Buckets and hottest frames."""
        rate = self.requests / self.seconds if self.seconds else 0.0
        console.print()
        console.print(
            f"[bold]Profile of {self.label}[/]: {self.requests:,} requests in "
            f"{self.seconds:.1f} s under py-spy ({rate:,.0f}/s; py-spy slows the server). "
            f"Server CPU {self.cpu_us_per_request:.0f} µs per request (all processes, /proc)."
        )
        if self.buckets and len(self.buckets) > 1:
            table = Table(
                title=f"Where the {self.mode} time goes (socket write includes preemption)"
            )
            table.add_column("bucket")
            table.add_column("share of samples", justify="right")
            table.add_column("≈ CPU µs/request", justify="right")
            for name, count in self.buckets:
                table.add_row(name, f"{count / self.samples:.1%}", f"{self.us(count):.1f}")
            console.print(table)
        for title, items in (
            ("hottest frames, inclusive", self.top_inclusive[:frames]),
            ("hottest frames, self", self.top_self[:frames]),
        ):
            console.print(f"[bold]{title}[/] (share of {self.mode} samples)")
            for frame, count in items:
                console.print(f"  {count / self.samples:6.1%}  {frame}")
        console.print("Raw py-spy stacks: " + ", ".join(str(f) for f in self.files))


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _parse(path: Path) -> list[tuple[Stack, int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        text, _, count = line.rpartition(" ")
        if not text or not count.isdigit():
            continue
        frames = [
            f
            for f in text.split(";")
            if f and not f.startswith(("process ", "thread ", "<module>"))
        ]
        stacks.append((frames, int(count)))
    return stacks


def summarize(
    label: str,
    files: list[Path],
    requests: int,
    seconds: float,
    cpu_s: float,
    *,
    bucketed: bool = True,
    top: int = 25,
    buckets_by: list[tuple[str, Callable[[Stack], bool]]] | None = None,
    idle: Callable[[Stack], bool] | None = None,
) -> ProfileReport:
    """Bucket the collapsed stacks of ``files`` and list the hottest frames.

    ``buckets_by`` replaces ``BUCKETS``; stacks for which ``idle`` is true (a thread waiting,
    when sampling without ``--gil``) are left out of every count.
    """
    rules = BUCKETS if buckets_by is None else buckets_by
    buckets: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    samples = 0
    for path in files:
        for stack, count in _parse(path):
            if idle is not None and idle(stack):
                continue
            samples += count
            if bucketed:
                buckets[next(label for label, matches in rules if matches(stack))] += count
            for frame in set(stack):
                inclusive[frame] += count
            if stack:
                own[stack[-1]] += count
    order = {name: i for i, (name, _) in enumerate(rules)}
    return ProfileReport(
        label=label,
        files=files,
        samples=samples,
        requests=requests,
        seconds=seconds,
        cpu_s=cpu_s,
        buckets=sorted(buckets.items(), key=lambda item: order[item[0]]),
        top_inclusive=inclusive.most_common(top),
        top_self=own.most_common(top),
    )


def profile_processes(
    label: str,
    pids: list[int],
    load: Callable[[float], LoadResult],
    seconds: float,
    out_dir: Path,
    cpu_seconds: Callable[[], float],
    *,
    bucketed: bool = True,
    buckets_by: list[tuple[str, Callable[[Stack], bool]]] | None = None,
    gil: bool = True,
    idle: Callable[[Stack], bool] | None = None,
) -> ProfileReport | None:
    """Put ``load`` on the server while py-spy samples each of ``pids`` for ``seconds``.

    With ``gil=False`` every running thread is sampled, including C code that released the
    GIL (SQLite queries); ``idle`` then says which stacks are threads waiting.
    """
    py_spy = _py_spy()
    if py_spy is None:
        print("py-spy is not installed (pip install py-spy): no profile", file=sys.stderr)
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() else "-" for c in label.lower())[:40]
    files = [out_dir / f"profile-{stamp}-{slug}-worker{i}.txt" for i in range(len(pids))]
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in pids]
        recorders = [
            subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(round(seconds) + 1),  # covers the load; idle time adds no samples
                    "--rate",
                    str(SAMPLE_RATE),
                    *(["--gil"] if gil else []),
                    "--format",
                    "raw",
                    "--nolineno",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            for pid, path, log in zip(pids, files, logs, strict=True)
        ]
        time.sleep(0.3)  # let py-spy attach
        cpu_before = cpu_seconds()
        result = load(round(seconds))
        cpu = cpu_seconds() - cpu_before
        for recorder in recorders:
            try:
                recorder.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait(timeout=5)
        messages = []
        for log in logs:
            log.seek(0)
            messages.append(log.read().decode(errors="replace"))
    if not all(f.exists() for f in files):
        print(f"py-spy failed: {' '.join(messages)[-500:]}", file=sys.stderr)
        return None
    report = summarize(
        label,
        files,
        result.requests,
        result.seconds,
        cpu,
        bucketed=bucketed,
        buckets_by=buckets_by,
        idle=idle,
    )
    report.mode = "GIL-held" if gil else "running-thread"
    return report
