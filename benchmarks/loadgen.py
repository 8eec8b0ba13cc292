"""Load generators for the benchmark runner: wrk (preferred) and a bounded Python fallback.

Both run a fixed number of keep-alive connections against one URL for a fixed time and
report throughput, latency percentiles and errors. An answer is an error when its HTTP status
is not 200, or when its body is an ArcGIS error envelope (geosite sends those with status 200,
as ArcGIS does) or lacks the marker a good answer must contain. wrk checks every body in a Lua
``response`` hook; the Python generator checks every body too.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

#: Substrings that mark an error envelope (Administrator API and REST/token service faces).
ERROR_MARKERS = ('"status":"error"', '{"error":')

#: The Python generator never sends more than this many requests in one run.
MAX_PYTHON_REQUESTS = 5_000_000
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LoadSpec:
    """One HTTP request, repeated: what to send and what a good answer contains."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    expect: str = ""  # a substring every good body contains
    #: Request targets (path and query) to cycle through instead of the path of ``url``, which
    #: then gives only the scheme, host and port. Each wrk thread and each Python connection
    #: starts at a different offset, so concurrent requests ask for different targets.
    targets: tuple[str, ...] = ()
    #: Seconds before an unanswered request counts as a timeout error (slow peers need more).
    timeout_s: float = REQUEST_TIMEOUT_S


@dataclass
class LoadResult:
    """What one timed run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # every failed request: socket errors, timeouts, bad statuses, bad bodies
    bad_status: int
    bad_body: int
    socket_errors: int
    bodies_checked: int

    @property
    def rps(self) -> float:
        """Requests per second, good and bad alike (wrk's definition)."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready figures, with the request rate."""
        return {**asdict(self), "rps": round(self.rps, 1)}


class LoadGenerator(Protocol):
    """Something that can put a fixed concurrency on one URL for a while."""

    name: str
    description: str

    def run(self, spec: LoadSpec, concurrency: int, seconds: float) -> LoadResult:
        """Run the load for ``seconds`` with ``concurrency`` connections."""
        ...


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


_LUA_HOOKS = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads * 7)
end

function init(args)
  bad_status = 0
  bad_body = 0
  checked = 0
  next_target = offset or 0
end

if #targets > 0 then
  request = function()
    next_target = next_target + 1
    local path = targets[(next_target % #targets) + 1]
    return wrk.format(nil, path)
  end
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    return
  end
  checked = checked + 1
  if body == nil then
    bad_body = bad_body + 1
    return
  end
  for _, marker in ipairs(error_markers) do
    if string.find(body, marker, 1, true) then
      bad_body = bad_body + 1
      return
    end
  end
  if expect ~= "" and not string.find(body, expect, 1, true) then
    bad_body = bad_body + 1
  end
end

function done(summary, latency, requests)
  local s, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("bad_status")
    b = b + thread:get("bad_body")
    c = c + thread:get("checked")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"mean_us\":%f,\"max_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d," ..
    "\"timeout\":%d,\"bad_status\":%d,\"bad_body\":%d,\"checked\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.timeout, s, b, c))
end
"""


def _wrk_script(spec: LoadSpec) -> str:
    lines = [f"wrk.method = {_lua_string(spec.method)}"]
    if spec.body:
        lines.append(f"wrk.body = {_lua_string(spec.body)}")
    for name, value in spec.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    markers = ", ".join(_lua_string(m) for m in ERROR_MARKERS)
    lines.append(f"error_markers = {{{markers}}}")
    lines.append(f"expect = {_lua_string(spec.expect)}")
    targets = ", ".join(_lua_string(t) for t in spec.targets)
    lines.append(f"targets = {{{targets}}}")
    return "\n".join(lines) + "\n" + _LUA_HOOKS


class WrkLoad:
    """wrk with a Lua script for the method, body and headers and for checking answers."""

    name = "wrk"

    def __init__(self, executable: str, threads: int = 2) -> None:
        self.executable = executable
        self.threads = threads
        probe = subprocess.run(
            [executable, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (probe.stdout + probe.stderr).strip().splitlines()
        self.version = first[0].split(" [")[0] if first else "wrk (unknown version)"
        self.description = f"{self.version}, {threads} threads, Lua hook checks every body"

    @classmethod
    def find(cls) -> WrkLoad | None:
        """wrk from PATH, or None."""
        path = shutil.which("wrk")
        return cls(path) if path else None

    def run(self, spec: LoadSpec, concurrency: int, seconds: float) -> LoadResult:
        """One wrk run (bounded by ``-d`` and by a hard subprocess timeout)."""
        with tempfile.TemporaryDirectory(prefix="geosite-bench-wrk-") as tmp:
            script = Path(tmp) / "load.lua"
            script.write_text(_wrk_script(spec))
            command = [
                self.executable,
                f"-t{min(self.threads, concurrency)}",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                f"--timeout={max(1, round(spec.timeout_s))}s",
                "-s",
                str(script),
                spec.url,
            ]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=seconds + spec.timeout_s + 60,
                check=False,
            )
        for line in done.stdout.splitlines():
            if line.startswith("WRK_RESULT "):
                raw = json.loads(line.removeprefix("WRK_RESULT "))
                break
        else:
            raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stderr[-500:]}")
        sockets = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
        return LoadResult(
            requests=raw["requests"],
            seconds=raw["duration_us"] / 1e6,
            p50_ms=raw["p50_us"] / 1000,
            p99_ms=raw["p99_us"] / 1000,
            mean_ms=raw["mean_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            errors=sockets + raw["bad_status"] + raw["bad_body"],
            bad_status=raw["bad_status"],
            bad_body=raw["bad_body"],
            socket_errors=sockets,
            bodies_checked=raw["checked"],
        )


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    bad_status: int = 0
    bad_body: int = 0
    socket_errors: int = 0
    checked: int = 0
    sent: int = 0


class PythonLoad:
    """A bounded asyncio HTTP/1.1 keep-alive client (used when wrk is missing).

    One process and one event loop: it needs more CPU per request than wrk, so on a shared
    2-core machine it takes more of the server's CPU and reports lower figures.
    """

    name = "python"

    def __init__(self) -> None:
        self.description = (
            f"built-in asyncio client (max {MAX_PYTHON_REQUESTS:,} requests per run), "
            "checks every body"
        )

    def run(self, spec: LoadSpec, concurrency: int, seconds: float) -> LoadResult:
        """Run the load on a fresh event loop (uvloop when installed)."""
        try:
            import uvloop

            return uvloop.run(self._run(spec, concurrency, seconds))
        except ImportError:
            return asyncio.run(self._run(spec, concurrency, seconds))

    async def _run(self, spec: LoadSpec, concurrency: int, seconds: float) -> LoadResult:
        parts = urlsplit(spec.url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http URLs are supported: {spec.url}")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        body = spec.body.encode()
        requests = [
            self._request(spec, parts.netloc, path, body) for path in spec.targets or (target,)
        ]
        tally = _Tally()
        started = time.perf_counter()
        deadline = started + seconds
        host, port = parts.hostname, parts.port or 80
        await asyncio.gather(
            *(
                self._connection(host, port, requests, index * 7, spec, deadline, tally)
                for index in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
        latencies = sorted(tally.latencies)

        def percentile(q: float) -> float:
            if not latencies:
                return 0.0
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

        errors = tally.bad_status + tally.bad_body + tally.socket_errors
        return LoadResult(
            requests=len(latencies) + tally.socket_errors,
            seconds=elapsed,
            p50_ms=percentile(0.50),
            p99_ms=percentile(0.99),
            mean_ms=sum(latencies) / len(latencies) * 1000 if latencies else 0.0,
            max_ms=latencies[-1] * 1000 if latencies else 0.0,
            errors=errors,
            bad_status=tally.bad_status,
            bad_body=tally.bad_body,
            socket_errors=tally.socket_errors,
            bodies_checked=tally.checked,
        )

    @staticmethod
    def _request(spec: LoadSpec, netloc: str, target: str, body: bytes) -> bytes:
        head = [f"{spec.method} {target} HTTP/1.1", f"Host: {netloc}"]
        head += [f"{name}: {value}" for name, value in spec.headers.items()]
        if body or spec.method == "POST":
            head.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    async def _connection(
        self,
        host: str,
        port: int,
        requests: list[bytes],
        offset: int,
        spec: LoadSpec,
        deadline: float,
        tally: _Tally,
    ) -> None:
        stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.perf_counter() < deadline and tally.sent < MAX_PYTHON_REQUESTS:
            tally.sent += 1
            offset += 1
            request = requests[offset % len(requests)]
            try:
                if stream is None:
                    stream = await asyncio.wait_for(
                        asyncio.open_connection(host, port), spec.timeout_s
                    )
                reader, writer = stream
                began = time.perf_counter()
                writer.write(request)
                status, body, keep_alive = await asyncio.wait_for(
                    _read_response(reader), spec.timeout_s
                )
                tally.latencies.append(time.perf_counter() - began)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                tally.socket_errors += 1
                if stream is not None:
                    stream[1].close()
                stream = None
                await asyncio.sleep(0.01)  # no hot loop while the server refuses connections
                continue
            if status != 200:
                tally.bad_status += 1
            else:
                tally.checked += 1
                text = body.decode("utf-8", "replace")
                if any(m in text for m in ERROR_MARKERS) or (
                    spec.expect and spec.expect not in text
                ):
                    tally.bad_body += 1
            if not keep_alive:
                writer.close()
                stream = None
        if stream is not None:
            stream[1].close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection stays open (Content-Length bodies only)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length: int | None = None
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
        elif name == "transfer-encoding":
            raise ValueError("chunked answers are not supported by the Python load generator")
    body = await reader.readexactly(length) if length else b""
    return status, body, keep_alive
