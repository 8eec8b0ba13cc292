"""The client's exceptions.

Our exception hierarchy::

    ClientError                  anything that went wrong talking to a site
    ├── ConnectionFailed         the site could not be reached (after the retries)
    ├── LoginRequired            no usable token and no password to get one
    └── ServerError              the site answered an ArcGIS error envelope (code, messages)
        ├── LoginFailed          the token service refused the user name and password
        ├── TokenRequired        499: the resource needs a token
        ├── InvalidToken         498: the token was refused (expired, revoked, bound elsewhere)
        ├── PermissionDenied     403: the user lacks the privilege or permission
        └── NotFound             404: no such service, folder, user, machine ...
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Anything that went wrong talking to a site."""


class ConnectionFailed(ClientError):
    """The site could not be reached, or its answer was not what an ArcGIS site sends."""


class LoginRequired(ClientError):
    """The stored token has expired (or there is none) and there is no password to renew it."""


class ServerError(ClientError):
    """The site answered with an ArcGIS error envelope (in an HTTP 200 or not)."""

    def __init__(self, code: int, messages: list[str]) -> None:
        self.code = code
        self.messages = messages
        super().__init__(f"{code}: {' '.join(messages)}")


class LoginFailed(ServerError):
    """The token service refused the credentials."""


class TokenRequired(ServerError):
    """Code 499: the resource needs a token."""


class InvalidToken(ServerError):
    """Code 498: the token was refused (expired, revoked, bound elsewhere)."""


class PermissionDenied(ServerError):
    """Code 403: the user may not do this."""


class NotFound(ServerError):
    """Code 404: the resource does not exist."""


_BY_CODE: dict[int, type[ServerError]] = {
    499: TokenRequired,
    498: InvalidToken,
    403: PermissionDenied,
    404: NotFound,
}


def envelope_error(body: Any) -> ServerError | None:
    """The ``ServerError`` an admin (``status: error``) or REST (``error``) envelope stands for."""
    if not isinstance(body, dict):
        return None
    if body.get("status") == "error":
        code = _code(body.get("code"))
        messages = [str(m) for m in body.get("messages") or []]
    elif isinstance(body.get("error"), dict):
        error = body["error"]
        code = _code(error.get("code"))
        details = error.get("details") or []
        messages = [str(error.get("message", "")), *(str(d) for d in details if d)]
    else:
        return None
    if not messages or not any(messages):
        messages = ["The site reported an error without a message."]
    return error_for(code, messages)


def error_for(code: int, messages: list[str]) -> ServerError:
    """The ``ServerError`` subclass for an ArcGIS error code (or an HTTP status)."""
    return _BY_CODE.get(code, ServerError)(code, messages)


def raise_for_envelope(body: Any) -> None:
    """Raise the matching ``ServerError`` when ``body`` is an admin or REST error envelope."""
    error = envelope_error(body)
    if error is not None:
        raise error


def _code(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 500
