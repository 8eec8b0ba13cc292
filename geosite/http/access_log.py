"""What a request leaves behind once answered: its record in the site's log store and its line
in the access log.

The store's record (code 7100 at FINE, 7101/7303 at WARNING or SEVERE) names the method, the
path, the status and, for a failure, the error's messages and details. The access log
(``geosite.access``, off unless ``geosite serve --access-log``) has one line per request with
the client's address (as the pipeline resolved it, trusted proxies included), the method, the
path, the HTTP status (and the ArcGIS error code of an error envelope), the duration and the
request id. Neither ever holds the query string: it may carry a token or a password.
"""

from __future__ import annotations

import logging
import time

from geosite.core.log_output import ACCESS, FIELDS
from geosite.core.logs import LogCode
from geosite.errors import GeositeError
from geosite.http.state import AppState

_ACCESS = logging.getLogger(ACCESS)
#: The longest error text a record keeps (a message can quote a long parameter).
MAX_DETAIL = 2000


def error_text(error: GeositeError) -> str:
    """The error's messages, then its details in parentheses, then what the answer did not
    show (a library's words, with server paths: the log is the administrators') in brackets."""
    text = " ".join(error.messages)
    if error.details:
        text += " (" + "; ".join(error.details) + ")"
    if error.private:
        text += " [" + "; ".join(error.private) + "]"
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def log_request(
    state: AppState,
    source: str,
    *,
    method: str,
    path: str,
    client_ip: str,
    status: int,
    user: str,
    error: GeositeError | None,
    started: float,
    request_id: str,
) -> None:
    """The request's record in the site's log store, and its access log line.

    ``path`` has no query string; ``source`` is the service's key (``Maps/Cities.MapServer``)
    or the area's (``Rest``, ``Admin``); ``started`` is a ``time.perf_counter()`` reading.
    """
    elapsed = (time.perf_counter() - started) * 1000
    runtime = state.runtime
    if runtime is not None:
        if error is None:
            runtime.log.log(
                "FINE",
                LogCode.REQUEST_COMPLETED,
                source,
                f"{method} {path} completed with code {status}.",
                user=user,
                elapsed_ms=elapsed,
                request_id=request_id,
                method=method,
            )
        else:
            code = LogCode.TOKEN_REJECTED if error.code in (498, 499) else LogCode.REQUEST_REJECTED
            runtime.log.log(
                "SEVERE" if error.code >= 500 else "WARNING",
                code,
                source,
                f"{method} {path} failed with code {error.code}: {error_text(error)}",
                user=user,
                elapsed_ms=elapsed,
                request_id=request_id,
                method=method,
            )
    if _ACCESS.isEnabledFor(logging.INFO):
        _access_line(client_ip, method, path, status, error, elapsed, user, request_id)


def _access_line(
    client_ip: str,
    method: str,
    path: str,
    status: int,
    error: GeositeError | None,
    elapsed: float,
    user: str,
    request_id: str,
) -> None:
    fields = {
        "client": client_ip,
        "method": method,
        "path": path,
        "status": status,
        "errorCode": error.code if error is not None else None,
        "durationMs": round(elapsed, 3),
        "user": user,
        "requestId": request_id,
    }
    shown = f"{status}" if error is None else f"{status} (error {error.code})"
    _ACCESS.info(
        '%s "%s %s" %s %.1fms %s id=%s',
        client_ip or "-",
        method,
        path,
        shown,
        elapsed,
        user or "-",
        request_id,
        extra={FIELDS: fields},
    )
