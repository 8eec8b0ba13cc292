"""``site.jobs``: asynchronous administrative operations (``/admin/system/jobs/<jobId>``).

An operation asked with ``runAsync=true`` answers with a job id at once; the job is then
polled until it is done, so that no single request has to last as long as the work (a large
import takes longer than any sensible HTTP timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from geosite.client._errors import ClientError, error_for
from geosite.client._session import Session

#: Statuses that mean a job is over (ArcGIS's admin jobs, and its geoprocessing words).
DONE = frozenset({"COMPLETED", "SUCCEEDED", "SUCCESS", "ESRIJOBSUCCEEDED"})
FAILED = frozenset({"FAILED", "CANCELLED", "ESRIJOBFAILED", "ESRIJOBCANCELLED"})
#: Seconds between polls: short at first, then at most every two seconds.
FIRST_POLL_S, LAST_POLL_S = 0.1, 2.0


class Jobs:
    """Asynchronous jobs of the site."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, job_id: str) -> dict[str, Any]:
        """A job's report: ``status``, ``messages``, then ``result`` or ``error``."""
        return dict(self._session.get_json(f"admin/system/jobs/{job_id}"))

    def wait(
        self,
        job_id: str,
        on_message: Callable[[str], None] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Poll a job until it is done and return its report (each new progress message is
        passed to ``on_message``); a failed job raises the error it reports.

        ``timeout`` (seconds, none by default) bounds the wait, not the job: the job goes on
        and ``get`` reads it later.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delay, seen = FIRST_POLL_S, 0
        while True:
            job = self.get(job_id)
            messages = [str(m) for m in job.get("messages") or []]
            if on_message is not None:
                for message in messages[seen:]:
                    on_message(message)
            seen = max(seen, len(messages))
            status = str(job.get("status") or job.get("jobStatus") or "").upper()
            if status in DONE:
                return job
            if status in FAILED:
                found = job.get("error")
                error: dict[str, Any] = found if isinstance(found, dict) else {}
                code = error.get("code", 500)
                reported = [str(m) for m in error.get("messages") or []]
                raise error_for(
                    int(code) if str(code).isdigit() else 500,
                    reported or messages[-1:] or [f"Job {job_id} {status.lower()}."],
                )
            if deadline is not None and time.monotonic() + delay > deadline:
                raise ClientError(
                    f"Job {job_id} is still {status.lower() or 'running'} after {timeout:g} s; "
                    "it goes on on the site."
                )
            time.sleep(delay)
            delay = min(delay * 1.5, LAST_POLL_S)
