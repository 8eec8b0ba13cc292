"""The client's exceptions."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Anything that went wrong talking to a site."""


class ServerError(ClientError):
    """The site answered with an ArcGIS error envelope."""

    def __init__(self, code: int, messages: list[str]) -> None:
        self.code = code
        self.messages = messages
        super().__init__(f"{code}: {' '.join(messages)}")


class TokenRequired(ServerError):
    """Code 499: the resource needs a token."""


class InvalidToken(ServerError):
    """Code 498: the token was refused (expired, revoked, bound elsewhere)."""


def raise_for_envelope(body: Any) -> None:
    """Raise the matching ``ServerError`` when ``body`` is an admin or REST error envelope."""
    if not isinstance(body, dict):
        return
    if body.get("status") == "error":
        code, messages = int(body.get("code", 500)), [str(m) for m in body.get("messages", [])]
    elif isinstance(body.get("error"), dict):
        error = body["error"]
        details = error.get("details") or []
        code = int(error.get("code", 500))
        messages = [str(error.get("message", "")), *(str(d) for d in details)]
    else:
        return
    kind = {499: TokenRequired, 498: InvalidToken}.get(code, ServerError)
    raise kind(code, messages)
