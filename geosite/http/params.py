"""Request parameters, merged once for every resource: query string, form and multipart.

ArcGIS conventions: GET and POST are interchangeable for reads, the body and the query string
are merged (the body wins), an empty value means the parameter is absent, booleans come in any
case (``true``, ``True``, ``TRUE``, ``1``), and JSON-valued parameters arrive as text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from geosite import integers
from geosite.errors import BadRequest, InvalidParameter


def _double_quoted(text: str) -> str:
    """``text`` with its single-quoted strings written double-quoted, as JSON has them.

    ArcGIS Server's JSON reader takes ``{'services': [{'serviceName': 'A'}]}``, and clients
    send it: ArcREST 3.5.9 url-encodes a dict parameter as its Python repr (stopServices,
    startServices). Double-quoted strings are copied as they are. ``ValueError`` when a string
    is not closed.
    """
    out: list[str] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char not in "'\"":
            out.append(char)
            i += 1
            continue
        end = i + 1
        while end < size and text[end] != char:
            end += 2 if text[end] == "\\" else 1
        if end >= size:
            raise ValueError("unterminated string")
        body = text[i + 1 : end]
        if char == "'":
            body = body.replace("\\'", "'").replace('"', '\\"')
        out.append('"' + body + '"')
        i = end + 1
    return "".join(out)


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class Params:
    """Merged request parameters; names match exactly first, then case-insensitively."""

    def __init__(
        self,
        values: dict[str, str],
        query_names: frozenset[str] = frozenset(),
        files: dict[str, UploadFile] | None = None,
    ) -> None:
        self._values = {k: v for k, v in values.items() if v != ""}
        self._folded = {k.lower(): v for k, v in self._values.items()}
        self.query_names = query_names
        self.files: dict[str, UploadFile] = files or {}

    def file(self, name: str) -> UploadFile | None:
        """The uploaded file sent as the multipart part ``name``, or None."""
        return self.files.get(name)

    async def close(self) -> None:
        """Remove the temporary files of uploaded parts."""
        for upload in self.files.values():
            await upload.close()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The parameter's text, or ``default`` when absent or empty."""
        value = self._values.get(name)
        if value is None:
            value = self._folded.get(name.lower())
        return default if value is None else value

    def replaced(self, values: dict[str, str]) -> Params:
        """These parameters with ``values`` in place of the ones of the same names (in any
        case); where each came from and the files are kept."""
        folded = {name.lower() for name in values}
        kept = {k: v for k, v in self._values.items() if k.lower() not in folded}
        return Params({**kept, **values}, self.query_names, self.files)

    def names(self) -> list[str]:
        """The names of the parameters given (empty ones left out)."""
        return list(self._values)

    def require(self, name: str) -> str:
        """The parameter's text; raises ``BadRequest`` when it is missing."""
        value = self.get(name)
        if value is None:
            raise BadRequest(f"Missing parameter '{name}'.")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        """The parameter as a boolean."""
        value = self.get(name)
        if value is None:
            return default
        folded = value.strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise InvalidParameter(f"Parameter '{name}' must be true or false.")

    def integer(
        self,
        name: str,
        default: int | None = None,
        *,
        minimum: int = integers.INT64_MIN,
        maximum: int = integers.INT64_MAX,
    ) -> int | None:
        """The parameter as an integer from ``minimum`` to ``maximum`` (by default, what a
        signed 64-bit integer holds); a 400 naming it otherwise."""
        value = self.get(name)
        if value is None:
            return default
        return integers.integer(value, name, minimum, maximum)

    def json(self, name: str) -> Any:
        """The parameter parsed as JSON (None when absent)."""
        value = self.get(name)
        if value is None:
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass
        try:  # ArcGIS Server also reads single-quoted JSON (a Python dict's repr)
            return orjson.loads(_double_quoted(value))
        except (orjson.JSONDecodeError, ValueError):
            raise InvalidParameter(f"Parameter '{name}' is not valid JSON.") from None

    def in_query(self, name: str) -> bool:
        """Whether the parameter was given in the URL's query string."""
        return name in self.query_names or name.lower() in {n.lower() for n in self.query_names}

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


async def read_params(
    request: Request, max_body: int, max_param: int, max_fields: int, *, allow_files: bool = False
) -> Params:
    """Merge the query string and the body of ``request`` into ``Params``.

    With ``allow_files``, multipart file parts are kept (spooled to disk by the parser) and the
    request must declare its ``Content-Length``, so that an oversized upload is refused before
    it is read.
    """
    query = request.url.query
    if len(query) > max_body:
        raise BadRequest("The request is too large.")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        raise BadRequest("Too many parameters.") from None
    values: dict[str, str] = dict(pairs)
    query_names = frozenset(values)
    files: dict[str, UploadFile] = {}
    if request.method == "POST":
        body, files = await _body_params(request, max_body, max_param, max_fields, allow_files)
        values.update(body)
    for name, value in values.items():
        if len(value) > max_param:
            for upload in files.values():
                await upload.close()
            raise BadRequest(f"Parameter '{name[:64]}' is too large.")
    return Params(values, query_names, files)


async def _body_params(
    request: Request, max_body: int, max_param: int, max_fields: int, allow_files: bool
) -> tuple[dict[str, str], dict[str, UploadFile]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise BadRequest("The request is too large.")
    if content_type == "multipart/form-data":
        return await _multipart(request, declared, max_param, max_fields, allow_files)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_body:
            raise BadRequest("The request is too large.")
    if not body:
        return {}, {}
    if content_type in ("application/x-www-form-urlencoded", "", "text/plain"):
        try:
            text = body.decode("utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)), {}
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The request body could not be read.") from None
    return {}, {}


async def _multipart(
    request: Request, declared: str | None, max_param: int, max_fields: int, allow_files: bool
) -> tuple[dict[str, str], dict[str, UploadFile]]:
    if allow_files and (declared is None or not declared.isdigit()):
        raise BadRequest("An upload must declare its Content-Length.")
    try:
        form = await request.form(
            max_files=4 if allow_files else 0, max_fields=max_fields, max_part_size=max_param
        )
    except Exception as exc:  # python-multipart and starlette raise several types here
        raise BadRequest("The multipart request could not be read.") from exc
    values: dict[str, str] = {}
    files: dict[str, UploadFile] = {}
    for key, item in form.multi_items():
        if isinstance(item, UploadFile):
            files[key] = item
        else:
            values[key] = item
    return values, files
