"""Asynchronous administrative jobs: an operation run in a background thread of the server
process, whose progress any worker reports (``/admin/system/jobs/<jobId>``).

An operation asked with ``runAsync=true`` answers at once with a job id; the work runs in a
thread of the worker that took the request, and the job's record (its status, progress
messages, then its result or its error) lives in the site store, so that a client polling
any worker of the site reads it. Statuses are ArcGIS's: ``EXECUTING``, then ``COMPLETED``
or ``FAILED``.

A job runs in a non-daemon thread: a worker that is shut down finishes its jobs first. While
it runs, its record is touched every ``HEARTBEAT_S``; a job whose record has not moved for
``STALE_S`` (its process was killed, or its machine lost) is reported ``FAILED``, so that a
client polling it stops. Finished jobs are removed ``KEEP_S`` after they ended.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geosite.core import ownership
from geosite.core.clock import Clock
from geosite.core.models import Principal
from geosite.errors import GeositeError, NotFound, redact
from geosite.storage.base import SiteStore

EXECUTING, COMPLETED, FAILED = "EXECUTING", "COMPLETED", "FAILED"
_PREFIX = "job:"
_ID = re.compile(r"^j[0-9a-f]{32}$")
_MAX_MESSAGES = 200
#: How often a running job says it is alive, how long without a word makes it lost, and how
#: long a finished job stays readable.
HEARTBEAT_S = 30
STALE_S = 10 * 60
KEEP_S = 7 * 24 * 3600
_GONE = "The server process running this job stopped before it finished."
_log = logging.getLogger("geosite.jobs")

#: The work of a job: given a ``progress(message)`` callback, returns the job's result.
Work = Callable[[Callable[[str], None]], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """A job's record, as stored and as ``/admin/system/jobs/<jobId>`` shows it."""

    job_id: str
    operation: str
    username: str
    submitted_ms: int
    last_modified_ms: int
    status: str = EXECUTING
    messages: tuple[str, ...] = ()
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    #: Where it runs: a worker of the same machine can tell when that process is gone.
    host: str = ""
    pid: int = 0

    def public(self) -> dict[str, Any]:
        """The JSON of the job resource (``status`` and ArcGIS's ``jobStatus``)."""
        shown: dict[str, Any] = {
            "jobId": self.job_id,
            "operation": self.operation,
            "status": self.status,
            "jobStatus": self.status,
            "username": self.username,
            "submitted": self.submitted_ms,
            "lastModified": self.last_modified_ms,
            "messages": list(self.messages),
        }
        if self.result is not None:
            shown["result"] = self.result
        if self.error is not None:
            shown["error"] = self.error
        return shown

    def stored(self) -> dict[str, Any]:
        """The record kept in the site store."""
        return {**self.public(), "host": self.host, "pid": self.pid}

    @classmethod
    def from_stored(cls, raw: dict[str, Any]) -> Job:
        """A job from its stored record."""
        result, error = raw.get("result"), raw.get("error")
        return cls(
            job_id=str(raw["jobId"]),
            operation=str(raw.get("operation", "")),
            username=str(raw.get("username") or ""),
            submitted_ms=int(raw.get("submitted", 0)),
            last_modified_ms=int(raw.get("lastModified", 0)),
            status=str(raw.get("status", EXECUTING)),
            messages=tuple(str(m) for m in raw.get("messages") or ()),
            result=result if isinstance(result, dict) else None,
            error=error if isinstance(error, dict) else None,
            host=str(raw.get("host", "")),
            pid=int(raw.get("pid") or 0),
        )

    def failed(self, code: int, messages: list[str]) -> Job:
        """This job, failed with ``messages``."""
        return dataclasses.replace(
            self,
            status=FAILED,
            error={"code": code, "messages": messages},
            messages=(*self.messages, *messages)[-_MAX_MESSAGES:],
        )


def _key(job_id: str) -> str:
    return _PREFIX + job_id


class _Recorder:
    """Writes one job's record as it runs (the job's thread and its heartbeat)."""

    def __init__(self, store: SiteStore, clock: Clock, job: Job) -> None:
        self.store = store
        self.clock = clock
        self.job = job
        self._lock = threading.Lock()
        self.done = threading.Event()

    def save(self, job: Job | None = None) -> None:
        with self._lock:
            base = self.job if job is None else job
            self.job = dataclasses.replace(base, last_modified_ms=self.clock.now_ms())
            self.store.put_setting(_key(self.job.job_id), self.job.stored())

    def progress(self, message: str) -> None:
        messages = (*self.job.messages, str(message))[-_MAX_MESSAGES:]
        self.save(dataclasses.replace(self.job, messages=messages))

    def heartbeat(self) -> None:
        while not self.done.wait(HEARTBEAT_S):
            try:
                self.save()
            except Exception:  # a store that is away for a moment: the next beat tries again
                _log.warning("Job %s: heartbeat not recorded", self.job.job_id, exc_info=True)


def submit(
    store: SiteStore,
    clock: Clock,
    operation: str,
    caller: Principal | None,
    work: Work,
) -> dict[str, Any]:
    """Record a job for ``operation`` and start ``work`` in a background thread; returns the
    job as ``/admin/system/jobs/<jobId>`` shows it. Jobs finished long ago are removed."""
    prune(store, clock)
    now = clock.now_ms()
    job = Job(
        job_id="j" + secrets.token_hex(16),
        operation=operation,
        username=ownership.owner_of_new(caller),
        submitted_ms=now,
        last_modified_ms=now,
        messages=(f"{operation} submitted.",),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    recorder = _Recorder(store, clock, job)
    recorder.save()
    name = f"job-{job.job_id}"
    threading.Thread(target=recorder.heartbeat, name=name + "-beat", daemon=True).start()
    threading.Thread(target=_run, args=(recorder, work), name=name, daemon=False).start()
    return recorder.job.public()


def _run(recorder: _Recorder, work: Work) -> None:
    try:
        result = work(recorder.progress)
    except GeositeError as exc:
        if exc.private:
            _log.warning("Job %s failed: %s", recorder.job.job_id, "; ".join(exc.private))
        shown = [redact(text) for text in [*exc.messages, *exc.details]]
        recorder.save(recorder.job.failed(exc.code, [t for t in shown if t is not None]))
    except Exception:  # the job thread's last resort: logged with its traceback, recorded as failed
        _log.exception("Job %s failed", recorder.job.job_id)
        failure = ["The job failed unexpectedly; see the server's log."]
        recorder.save(recorder.job.failed(500, failure))
    else:
        recorder.save(dataclasses.replace(recorder.job, status=COMPLETED, result=result))
    finally:
        recorder.done.set()


def _load(store: SiteStore, job_id: str) -> Job | None:
    raw = store.get_setting(_key(job_id)) if _ID.match(job_id or "") else None
    try:
        return Job.from_stored(raw) if isinstance(raw, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def get(store: SiteStore, clock: Clock, job_id: str, caller: Principal | None) -> dict[str, Any]:
    """A job, for the user who submitted it and for administrators."""
    job = _load(store, job_id)
    if job is None:
        raise NotFound(f"Job '{(job_id or '')[:64]}' does not exist.")
    ownership.check_manage(caller, job.username)
    if job.status == EXECUTING and _lost(job, clock.now_ms()):
        return job.failed(500, [_GONE]).public()
    return job.public()


def prune(store: SiteStore, clock: Clock) -> int:
    """Remove jobs that ended (or were lost) more than ``KEEP_S`` ago; how many went."""
    cutoff = clock.now_ms() - KEEP_S * 1000
    removed = 0
    for key in store.setting_keys(_PREFIX):
        job = _load(store, key.removeprefix(_PREFIX))
        if job is None or job.last_modified_ms < cutoff:
            store.delete_setting(key)
            removed += 1
    return removed


def _lost(job: Job, now_ms: int) -> bool:
    """Whether a running job's process is gone: no heartbeat for ``STALE_S``, or (on this
    machine) no such process."""
    if now_ms - job.last_modified_ms > STALE_S * 1000:
        return True
    if job.host != socket.gethostname() or job.pid <= 0:
        return False
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's process, say)
        return False
    return False
