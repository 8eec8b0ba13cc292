"""Asynchronous administrative jobs: an operation run in a background thread of the server
process, whose progress any worker reports (``/admin/system/jobs/<jobId>``).

An operation asked with ``runAsync=true`` answers at once with a job id; the work runs in a
thread of the worker that took the request, and the job's record (its status, progress
messages, then its result or its error) lives in the site store, so that a client polling
any worker of the site reads it. Statuses are ArcGIS's: ``EXECUTING``, then ``COMPLETED``
or ``FAILED``.

A job runs in a non-daemon thread: a worker that is shut down finishes its jobs first. A
job whose worker process is gone (killed outright) is reported ``FAILED`` by the workers of
its machine; elsewhere it stays ``EXECUTING`` and its ``lastModified`` stops moving.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

from geosite.core import ownership
from geosite.core.clock import Clock
from geosite.core.models import Principal
from geosite.errors import GeositeError, NotFound
from geosite.storage.base import SiteStore

EXECUTING, COMPLETED, FAILED = "EXECUTING", "COMPLETED", "FAILED"
_PREFIX = "job:"
_ID = re.compile(r"^j[0-9a-f]{32}$")
_MAX_MESSAGES = 200
_log = logging.getLogger("geosite.jobs")

#: The work of a job: given a ``progress(message)`` callback, returns the job's result.
Work = Callable[[Callable[[str], None]], dict[str, Any]]


def _key(job_id: str) -> str:
    return _PREFIX + job_id


class _Recorder:
    """Writes one job's record as it runs (only the job's own thread writes it)."""

    def __init__(self, store: SiteStore, clock: Clock, record: dict[str, Any]) -> None:
        self.store = store
        self.clock = clock
        self.record = record

    def save(self, **changes: Any) -> None:
        self.record.update(changes, lastModified=self.clock.now_ms())
        self.store.put_setting(_key(self.record["jobId"]), self.record)

    def progress(self, message: str) -> None:
        messages = [*self.record["messages"], str(message)][-_MAX_MESSAGES:]
        self.save(messages=messages)


def submit(
    store: SiteStore,
    clock: Clock,
    operation: str,
    caller: Principal | None,
    work: Work,
) -> dict[str, Any]:
    """Record a job for ``operation`` and start ``work`` in a background thread; returns the
    job as ``/admin/system/jobs/<jobId>`` shows it."""
    now = clock.now_ms()
    record: dict[str, Any] = {
        "jobId": "j" + secrets.token_hex(16),
        "operation": operation,
        "status": EXECUTING,
        "jobStatus": EXECUTING,
        "username": ownership.owner_of_new(caller),
        "submitted": now,
        "lastModified": now,
        "messages": [f"{operation} submitted."],
        # Where it runs: a worker of the same machine can tell when that process is gone.
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    recorder = _Recorder(store, clock, record)
    recorder.save()
    thread = threading.Thread(
        target=_run, args=(recorder, work), name=f"job-{record['jobId']}", daemon=False
    )
    thread.start()
    return dict(record)


def _run(recorder: _Recorder, work: Work) -> None:
    try:
        result = work(recorder.progress)
    except GeositeError as exc:
        _fail(recorder, exc.code, [*exc.messages, *exc.details])
    except Exception:
        _log.exception("Job %s failed", recorder.record["jobId"])
        _fail(recorder, 500, ["The job failed unexpectedly; see the server's log."])
    else:
        recorder.save(status=COMPLETED, jobStatus=COMPLETED, result=result)


def _fail(recorder: _Recorder, code: int, messages: list[str]) -> None:
    recorder.save(
        status=FAILED,
        jobStatus=FAILED,
        error={"code": code, "messages": messages},
        messages=[*recorder.record["messages"], *messages][-_MAX_MESSAGES:],
    )


def get(store: SiteStore, job_id: str, caller: Principal | None) -> dict[str, Any]:
    """A job, for the user who submitted it and for administrators."""
    record = store.get_setting(_key(job_id)) if _ID.match(job_id or "") else None
    if not isinstance(record, dict):
        raise NotFound(f"Job '{(job_id or '')[:64]}' does not exist.")
    ownership.check_manage(caller, str(record.get("username") or ""))
    if record.get("status") == EXECUTING and _orphaned(record):
        error = {"code": 500, "messages": [_GONE]}
        return {
            **record,
            "status": FAILED,
            "jobStatus": FAILED,
            "error": error,
            "messages": [*record.get("messages", []), _GONE],
        }
    return dict(record)


_GONE = "The server process running this job stopped before it finished."


def _orphaned(record: dict[str, Any]) -> bool:
    """Whether the job's process, on this machine, no longer exists."""
    pid = record.get("pid")
    if record.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's process, say)
        return False
    return False
