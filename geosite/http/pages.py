"""HTML pages of the Administrator Directory and the Services Directory.

Every page gets the same dict the JSON answer has, plus breadcrumbs, links to child resources
and operations, and a JSON link. Templates autoescape everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from starlette.responses import Response

from geosite.errors import GeositeError, NoSite
from geosite.http.errors import ADMIN, html_status, public_texts
from geosite.http.render import html_response, pretty
from geosite.http.routing import Call, Match, Reply

if TYPE_CHECKING:
    from geosite.http.dispatch import Area
    from geosite.http.state import AppState

TITLES = {ADMIN: "geosite Administrator Directory", "rest": "geosite Services Directory"}


def site_path(state: AppState, call: Call | None) -> str:
    """The site's path as the client sees it: ``WebContextURL``'s path, or the context path."""
    if call is not None:
        return call.site_path
    runtime = state.runtime
    url = runtime.system_properties().web_context_url if runtime is not None else ""
    return urlsplit(url).path.rstrip("/") if url else state.settings.context_path


def _prefix(area: Area, ctx: str) -> str:
    """The area's path below the site's public path (``/server/admin``)."""
    return ctx + area.prefix[len(area.prefix.rsplit("/", 1)[0]) :] if area.prefix else ctx


def _carry(call: Call | None) -> str:
    """The query string that carries a URL token on to the next page."""
    return "?token=" + quote(call.token_param, safe="") if call and call.token_param else ""


def _crumbs(prefix: str, rel: str, carry: str) -> list[tuple[str, str]]:
    crumbs = [("Home", prefix + "/" + carry)]
    href = prefix
    for segment in [s for s in rel.strip("/").split("/") if s]:
        href += "/" + quote(segment)
        crumbs.append((segment, href + carry))
    return crumbs


def _base(area: Area, rel: str, call: Call | None, title: str, ctx: str) -> dict[str, Any]:
    prefix = _prefix(area, ctx)
    here = prefix + ("/" + rel.strip("/") if rel.strip("/") else "")
    carry = _carry(call)
    return {
        "ctx": ctx,
        "site_title": TITLES.get(area.name, TITLES["rest"]),
        "area": area.name,
        "title": title,
        "crumbs": _crumbs(prefix, rel, carry),
        "here": here,
        "carry": carry,
        "json_href": here + (carry + "&f=pjson" if carry else "?f=pjson"),
        "user": call.principal.username if call and call.principal else "",
        "csrf": call.csrf_token if call else "",
        "token": call.token_param if call else "",
    }


def _title(match: Match, rel: str) -> str:
    return match.endpoint.title or rel.strip("/").rsplit("/", 1)[-1] or "Home"


def resource_page(
    area: Area, rel: str, match: Match, call: Call, payload: dict[str, Any]
) -> Response:
    """The page of a resource: properties, child resources, operations."""
    context = _base(area, rel, call, _title(match, rel), call.site_path)
    here, carry = context["here"], context["carry"]
    context.update(
        properties=payload,
        description=match.endpoint.description,
        children=[
            (label, f"{here}/{quote(name)}{carry}")
            for name, label in match.endpoint.child_links(call, payload)
        ],
        operations=[(name, f"{here}/{quote(name)}{carry}") for name in match.endpoint.operations],
    )
    return html_response("resource.html", context)


def operation_page(
    area: Area, rel: str, match: Match, call: Call, result: dict[str, Any] | None
) -> Response:
    """The form of an operation, with the answer once it was submitted."""
    context = _base(area, rel, call, _title(match, rel), call.site_path)
    filled = match.endpoint.form_values(call) if match.endpoint.form_values else {}
    values = {
        f.name: call.params.get(f.name) or filled.get(f.name) or f.default
        for f in match.endpoint.fields
    }
    context.update(
        description=match.endpoint.description,
        fields=match.endpoint.fields,
        multipart=match.endpoint.accepts_files,
        values=values,
        result=pretty(result) if result is not None else None,
        failed=bool(result and result.get("status") == "error"),
    )
    return html_response("operation.html", context)


def special_page(area: Area, rel: str, reply: Reply, call: Call) -> Response:
    """A page with its own template (the login form, the query form)."""
    if reply.template == "login.html":
        context = {
            "site_title": TITLES[ADMIN],
            "title": "Log in",
            "ctx": call.site_path,
            "user": "",
            "crumbs": [],
            **reply.context,
        }
    else:
        title = str(reply.context.get("title", ""))
        context = {**_base(area, rel, call, title, call.site_path), **reply.context}
    return html_response(reply.template or "error.html", context, status=reply.status)


def error_page(
    area: Area, rel: str, error: GeositeError, state: AppState, call: Call | None
) -> Response:
    """An error shown as a page, with a way forward where there is one."""
    context = _base(area, rel, call, "Error", site_path(state, call))
    shown, details = public_texts(error, call.request_id if call is not None else "")
    context.update(
        code=error.code,
        messages=[*shown, *details],
        create_site=isinstance(error, NoSite),
    )
    return html_response("error.html", context, status=html_status(error))
