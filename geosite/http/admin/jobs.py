"""``/arcgis/admin/system/jobs/<jobId>``: an asynchronous operation's status and result."""

from __future__ import annotations

from typing import Any

from geosite.core import jobs
from geosite.core.models import Privilege
from geosite.http.routing import Call, Endpoint


def job(call: Call) -> dict[str, Any]:
    """``GET /admin/system/jobs/<jobId>``: ``status`` (EXECUTING, COMPLETED or FAILED), the
    progress ``messages``, then the ``result`` or the ``error``."""
    store = call.state.require_site().site.store
    return jobs.get(store, call.state.clock, call.args["job"], call.principal)


ENDPOINTS = [
    # Publishers poll the jobs they submitted (the core checks whose job it is).
    Endpoint("/system/jobs/{job}", job, privilege=Privilege.PUBLISH, title="Job"),
]
