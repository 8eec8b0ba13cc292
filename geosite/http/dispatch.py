"""The request pipeline shared by every resource: parse, authenticate, run, render, log.

The handler and the checks around it run in a worker thread (the core is synchronous); the
event loop only reads the body and writes the answer. Every failure, expected or not, ends in
one of the two ArcGIS envelopes: never a traceback, never a 5xx for bad input.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import random
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from geosite.core.logs import LogCode
from geosite.core.models import Principal
from geosite.errors import (
    BadRequest,
    Forbidden,
    GeositeError,
    InternalError,
    InvalidToken,
    MethodNotAllowed,
    NotFound,
    TokenRequired,
)
from geosite.http import access_log, audit, caching, metrics, origin, pages
from geosite.http.auth import COOKIE, csrf_ok, csrf_token_for, token_from
from geosite.http.errors import ADMIN, envelope, html_status
from geosite.http.origin import Origin
from geosite.http.params import Params, read_params
from geosite.http.policy import check_transport
from geosite.http.render import FORMATS, SECURITY_HEADERS, json_response, valid_callback
from geosite.http.routing import OPERATION, Call, Endpoint, Match, Reply, Router
from geosite.http.state import AppState
from geosite.settings import parse_networks

_PREFLIGHT_HEADERS = {
    **SECURITY_HEADERS,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "Content-Type, X-Esri-Authorization, Authorization",
    "access-control-max-age": "86400",
}


_ORIGIN = "geosite.origin"


@dataclass(frozen=True)
class Area:
    """A part of the URL space with its envelope, router and default format."""

    name: str  # "admin" or "rest"
    prefix: str  # "/arcgis/admin"
    router: Router
    source: str  # log source
    default_format: str = "html"
    #: Whether answers given without a token may be cached by anyone (the Services
    #: Directory); the Administrator API and the token service are always private.
    public_answers: bool = False
    #: Whether a JSON error answer carries the error's HTTP status rather than 200: outside
    #: the ArcGIS areas, where ArcGIS Server's web server answers a plain HTTP 404 (clients
    #: try URLs there and move on only when the status says so).
    error_status: bool = False


@dataclass
class Outcome:
    """What running a request produced (built in the worker thread)."""

    response: Response
    user: str = ""
    code: int = 200
    error: GeositeError | None = None
    #: The permission key of the service the request found, for its statistics.
    service_key: str = ""
    #: The answer's ETag when anyone may cache it (see ``caching``).
    etag: str | None = None


def origin_of(request: Request) -> Origin:
    """Who sent the request and how (resolved once per request, trusting only known proxies)."""
    found: Origin | None = request.scope.get(_ORIGIN)
    if found is None:
        state: AppState = request.app.state.geosite
        found = origin.resolve(
            request, state.settings.trusted_proxies, state.settings.proxy_headers
        )
        request.scope[_ORIGIN] = found
    return found


#: The header of an error answer that names its request's id in the log.
REQUEST_ID_HEADER = "X-Request-Id"


def _client_ip(request: Request) -> str:
    """The client's address: the connection's, or a trusted proxy's word for it."""
    return origin_of(request).client_ip


async def handle(request: Request, state: AppState, area: Area, rel: str) -> Response:
    """Run one request in ``area``; ``rel`` is the path below the area's prefix."""
    started = time.perf_counter()
    # An id to tie log records together, not a secret: os.urandom would release and retake
    # the GIL on the event loop on every request.
    request_id = f"{random.getrandbits(64):016x}"
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=_PREFLIGHT_HEADERS)
    request.scope[_ORIGIN] = origin.resolve(
        request, state.settings.trusted_proxies, state.settings.proxy_headers
    )
    fmt = "json"
    match: Match | None = None
    try:
        if request.method not in ("GET", "POST", "HEAD"):
            raise MethodNotAllowed()
        match = area.router.match(rel)
        files = match is not None and match.endpoint.accepts_files
        settings = state.settings
        params = await read_params(
            request,
            settings.max_upload_bytes if files else settings.max_body_bytes,
            settings.max_param_bytes,
            settings.max_fields,
            allow_files=files,
        )
        try:
            credentialed = token_from(request, params)[0] is not None
            fmt = (params.get("f") or area.default_format).strip().lower()
            public = area.public_answers and not credentialed
            job = functools.partial(
                _run, request, state, area, rel, match, params, fmt, request_id, public
            )
            if match is not None and match.endpoint.serial:
                loop = asyncio.get_running_loop()
                outcome = await loop.run_in_executor(state.serial_executor(), job)
            else:
                outcome = await anyio.to_thread.run_sync(job)
        finally:
            await params.close()
    except GeositeError as exc:
        answer = json_response(envelope(exc, area.name, request_id), status=_status(area, exc))
        outcome = Outcome(answer, code=exc.code, error=exc)
    access_log.log_request(
        state,
        # A request to a service is that service's record (``Maps/Cities.FeatureServer``).
        outcome.service_key.lstrip("/") or area.source,
        method=request.method,
        path=request.url.path,  # never the query string: it may carry a token or a password
        client_ip=_client_ip(request),
        status=outcome.response.status_code,
        user=outcome.user,
        error=outcome.error,
        started=started,
        request_id=request_id,
    )
    metrics.observe(
        area.name, outcome.service_key, rel, outcome.code, time.perf_counter() - started
    )
    if isinstance(outcome.error, InvalidToken):
        metrics.TOKEN_FAILURES.inc()
    if outcome.service_key and state.runtime is not None:
        # The service's statistics, whatever the log level (only services that exist).
        elapsed = (time.perf_counter() - started) * 1000
        failed = outcome.error is not None
        state.runtime.meter.record(outcome.service_key, state.clock.now_ms(), elapsed, failed)
    if outcome.error is not None:
        # The id the log files the failure under (the body names it too when it holds back
        # detail): what an administrator asks a user for.
        outcome.response.headers[REQUEST_ID_HEADER] = request_id
    return caching.apply(request, outcome.response, outcome.etag)


def _run(
    request: Request,
    state: AppState,
    area: Area,
    rel: str,
    match: Match | None,
    params: Params,
    fmt: str,
    request_id: str,
    public: bool,
) -> Outcome:
    calls: list[Call] = []
    outcome = _handle_call(request, state, area, rel, match, params, fmt, request_id, calls)
    if calls:
        outcome.service_key = calls[0].service_key
    if outcome.error is None:
        outcome.etag = caching.tag(request, outcome.response, public=public)
    return outcome


def _handle_call(
    request: Request,
    state: AppState,
    area: Area,
    rel: str,
    match: Match | None,
    params: Params,
    fmt: str,
    request_id: str,
    calls: list[Call],
) -> Outcome:
    call: Call | None = None
    try:
        extra = match.endpoint.formats if match is not None else ()
        if fmt not in FORMATS and fmt not in extra:
            supported = ", ".join((*FORMATS, *extra))
            fmt = "json"
            raise BadRequest(f"Invalid format. Supported formats are {supported}.")
        callback = params.get("callback")
        if callback is not None and fmt != "html":
            if area.name == ADMIN:
                raise BadRequest("JSONP is not supported by the Administrator API.")
            if not valid_callback(callback):
                raise BadRequest("Invalid callback name.")
        moved = check_transport(request, state, area.name, params, origin_of(request))
        if moved is not None:
            return Outcome(moved)
        if match is None:
            name = rel.rstrip("/").rsplit("/", 1)[-1] or area.prefix.rsplit("/", 1)[-1]
            raise NotFound(f"Could not find resource or operation '{name}' on the system.")
        call = _authorize(request, state, area, match, params, request_id, fmt)
        calls.append(call)
        endpoint = match.endpoint
        if endpoint.kind == OPERATION and request.method != "POST":
            if fmt == "html":
                return Outcome(pages.operation_page(area, rel, match, call, None), _user(call))
            if not endpoint.allow_get:
                raise MethodNotAllowed(f"Operation '{rel.rsplit('/', 1)[-1]}' requires POST.")
        if (
            endpoint.kind == OPERATION
            and request.method == "POST"
            and call.principal
            and call.principal.via_cookie
            and not csrf_ok(call.csrf_token, params.get("csrfToken"))
        ):
            raise Forbidden("The form has expired. Reload the page and try again.")
        result = endpoint.handler(call)
        if endpoint.kind == OPERATION and area.name == ADMIN and state.runtime is not None:
            audit.record(state.runtime.log, area.source, rel, call, request_id)
        return Outcome(_answer(result, area, rel, match, call, fmt, callback), _user(call))
    except GeositeError as exc:
        return _failure(exc, request, state, area, rel, match, call, fmt, params, request_id)
    except Exception as exc:
        print(f"geosite: unexpected error in request {request_id}:", file=sys.stderr)
        traceback.print_exc()
        if state.runtime is not None:
            state.runtime.log.log(
                "SEVERE",
                LogCode.INTERNAL_ERROR,
                area.source,
                f"Unexpected {type(exc).__name__} in '{rel}'.",
                request_id=request_id,
            )
        error = InternalError()
        return _failure(error, request, state, area, rel, match, call, fmt, params, request_id)


def _scraper(endpoint: Endpoint, state: AppState, client_ip: str) -> bool:
    """Whether the caller is one of ``--metrics-addresses`` asking an endpoint open to them."""
    if not endpoint.scrapers or not state.settings.metrics_addresses:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in net for net in parse_networks(state.settings.metrics_addresses))


def _user(call: Call | None) -> str:
    return call.principal.username if call and call.principal else ""


def _authorize(
    request: Request,
    state: AppState,
    area: Area,
    match: Match,
    params: Params,
    request_id: str,
    fmt: str,
) -> Call:
    endpoint = match.endpoint
    runtime = state.require_site() if endpoint.needs_site else state.open_site()
    token, via_cookie = token_from(request, params)
    principal: Principal | None = None
    token_error: GeositeError | None = None
    client_ip = _client_ip(request)
    referer = request.headers.get("referer", "")
    if endpoint.privilege is not None and token is None and _scraper(endpoint, state, client_ip):
        pass  # a scrape address reads the metrics without a token
    elif endpoint.privilege is not None:
        if token is None:
            raise TokenRequired()
        if runtime is None:  # a protected endpoint always needs the site
            runtime = state.require_site()
        principal = runtime.auth.verify(token, client_ip, referer)
        if principal.privilege < endpoint.privilege:
            raise Forbidden()
    elif token is not None and runtime is not None:
        try:
            principal = runtime.auth.verify(token, client_ip, referer)
        except GeositeError as exc:
            principal, token_error = None, exc
    if principal is not None and via_cookie:
        principal = Principal(
            principal.username,
            principal.privilege,
            principal.expires_ms,
            via_cookie=True,
            token_nonce=principal.token_nonce,
        )
    where = origin_of(request)
    properties = runtime.system_properties() if runtime is not None else None
    return Call(
        state=state,
        params=params,
        args=match.args,
        principal=principal,
        client_ip=client_ip,
        referer=referer,
        scheme=where.scheme,
        host=where.host,
        method=request.method,
        path=request.url.path,
        request_id=request_id,
        csrf_token=csrf_token_for(token) if token and via_cookie and principal else "",
        token_param=token if token and principal and params.get("token") == token else "",
        fmt=fmt,
        token_error=token_error,
        context_path=state.settings.context_path,
        web_context_url=properties.web_context_url if properties is not None else "",
    )


def _answer(
    result: dict[str, Any] | Reply,
    area: Area,
    rel: str,
    match: Match,
    call: Call,
    fmt: str,
    callback: str | None,
) -> Response:
    reply = result if isinstance(result, Reply) else Reply(payload=result)
    if reply.redirect is not None:
        response: Response = RedirectResponse(
            reply.redirect, status_code=303, headers=SECURITY_HEADERS
        )
    elif reply.body is not None:
        response = Response(reply.body, media_type=reply.media_type, headers=SECURITY_HEADERS)
    elif reply.file is not None:
        response = FileResponse(
            reply.file,
            media_type=reply.media_type or "application/octet-stream",
            filename=reply.file.name,
            headers=SECURITY_HEADERS,
        )
    elif fmt == "html":
        if reply.template is not None:
            response = pages.special_page(area, rel, reply, call)
        elif match.endpoint.kind == OPERATION:
            response = pages.operation_page(area, rel, match, call, reply.payload)
        else:
            response = pages.resource_page(area, rel, match, call, reply.payload)
        if reply.status != 200:  # a stopped machine's health check page, for the balancer
            response.status_code = reply.status
    else:
        response = json_response(reply.payload, fmt, callback if area.name != ADMIN else None)
        # JSON answers carry 200 as ArcGIS's do, unless the handler says otherwise (a stopped
        # machine's health check answers 503 for the balancer).
        if reply.template is None:
            response.status_code = reply.status
    if reply.set_cookie is not None:
        token, max_age = reply.set_cookie
        response.set_cookie(
            COOKIE,
            token,
            max_age=max_age,
            path=call.site_path or "/",
            httponly=True,
            samesite="strict",
            secure=call.is_https,
        )
    if reply.clear_cookie:
        response.delete_cookie(
            COOKIE,
            path=call.site_path or "/",
            httponly=True,
            samesite="strict",
            secure=call.is_https,
        )
    return response


def _failure(
    error: GeositeError,
    request: Request,
    state: AppState,
    area: Area,
    rel: str,
    match: Match | None,
    call: Call | None,
    fmt: str,
    params: Params,
    request_id: str,
) -> Outcome:
    user = _user(call)
    if fmt == "html":
        if isinstance(error, TokenRequired | InvalidToken) and area.name == ADMIN:
            site = pages.site_path(state, call)
            here = site + request.url.path[len(state.settings.context_path) :]
            target = f"{site}/admin/login?redirect=" + quote(here, safe="/")
            response: Response = RedirectResponse(target, status_code=302, headers=SECURITY_HEADERS)
            if isinstance(error, InvalidToken) and request.cookies.get(COOKIE):
                response.delete_cookie(COOKIE, path=site or "/")
            return Outcome(response, user, error.code, error)
        return Outcome(pages.error_page(area, rel, error, state, call), user, error.code, error)
    callback = params.get("callback") if area.name != ADMIN else None
    if callback is not None and not valid_callback(callback):
        callback = None
    return Outcome(
        json_response(envelope(error, area.name, request_id), fmt, callback, _status(area, error)),
        user,
        error.code,
        error,
    )


def _status(area: Area, error: GeositeError) -> int:
    """The HTTP status of a JSON error answer in ``area`` (200, as ArcGIS answers, but
    outside its areas, or when the error says otherwise: ``GeositeError.http_status``)."""
    if error.http_status is not None:
        return error.http_status
    return html_status(error) if area.error_status else 200
