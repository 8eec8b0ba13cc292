"""Domain errors: what went wrong, with no knowledge of HTTP.

Every error carries a stable numeric ``code`` (the ArcGIS code clients switch on) and
``messages``, the public text. Internal detail never goes into ``messages``; the HTTP layer
(``geosite.http.errors``) alone turns these into the two ArcGIS envelopes.

Hierarchy::

    GeositeError
    ├── BadRequest (400)
    │   ├── LoginFailed (400)      unknown user, wrong password, locked account: one answer
    │   └── InvalidParameter (400)
    ├── TokenRequired (499)
    ├── InvalidToken (498)         expired, tampered, wrongly bound, revoked
    ├── Forbidden (403)
    ├── NotFound (404)
    │   └── NoSite (404)           this machine participates in no site yet
    ├── MethodNotAllowed (405)
    ├── Conflict (409)
    ├── ServiceNotStarted (500)    a stopped service, in ArcGIS's words
    └── InternalError (500)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class GeositeError(Exception):
    """Base of every domain error; ``code`` is the ArcGIS error code."""

    code = 500
    default_message = "Unable to complete operation."

    def __init__(self, *messages: str, details: Sequence[str] = ()) -> None:
        self.messages: list[str] = list(messages) or [self.default_message]
        self.details: list[str] = list(details)
        super().__init__(self.messages[0])

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled whole (messages and details), whatever the subclass's constructor takes:
        # errors raised in a child process (the isolated importer) cross back intact.
        return _restore, (type(self), self.messages, self.details)


def _restore(kind: type[GeositeError], messages: list[str], details: list[str]) -> GeositeError:
    error = kind.__new__(kind)
    GeositeError.__init__(error, *messages, details=details)
    return error


class BadRequest(GeositeError):
    """The request is malformed or misses a required parameter."""

    code = 400


class InvalidParameter(BadRequest):
    """A parameter has a value that cannot be used."""


class LoginFailed(BadRequest):
    """Credentials were not accepted (same answer for every reason, to avoid enumeration)."""

    default_message = "Unable to generate token."


def invalid_parameter(parameter: str, why: str) -> InvalidParameter:
    """ArcGIS's answer to a bad query parameter: 400, naming the parameter and the reason."""
    return InvalidParameter(
        "Unable to complete operation.", details=[f"'{parameter}' parameter is invalid", why]
    )


class TokenRequired(GeositeError):
    """A protected resource was requested without a token."""

    code = 499
    default_message = (
        "Unauthorized access. Token not found. You can generate a token using the "
        "'generateToken' operation."
    )


class InvalidToken(GeositeError):
    """The token is expired, tampered with, revoked or bound to another client."""

    code = 498
    default_message = "Could not decrypt token. Token may not be valid."


EXPIRED_TOKEN = "Token Expired."  # noqa: S105 (a message, not a secret)
CLIENT_MISMATCH = "Invalid token, ClientID does not match."
REVOKED_TOKEN = "Token is no longer valid. Generate a new token."  # noqa: S105


class Forbidden(GeositeError):
    """The caller is known but lacks the privilege for this operation."""

    code = 403
    default_message = (
        "You do not have permissions to access this resource or perform this operation."
    )


class NotFound(GeositeError):
    """No such resource or operation."""

    code = 404


class NoSite(NotFound):
    """The machine has not created or joined a site yet."""

    def __init__(self, machine_name: str) -> None:
        super().__init__(
            f"Server machine '{machine_name}' does not participate in any Site. "
            "Create a new Site or join an existing Site."
        )


class MethodNotAllowed(GeositeError):
    """The HTTP method is not accepted here."""

    code = 405
    default_message = "Method not supported."


class Conflict(GeositeError):
    """The operation conflicts with the current state (for example the site exists)."""

    code = 409


class ServiceNotStarted(GeositeError):
    """A stopped service was asked for: ArcGIS answers code 500 with this text (and a space)."""

    code = 500

    def __init__(self, qualified_name: str, service_type: str) -> None:
        super().__init__(f"Service {qualified_name}/{service_type} not started ")


class InternalError(GeositeError):
    """An unexpected failure; the public message never carries the internal cause."""

    code = 500


class SslRequired(Forbidden):
    """A token or password came over plain HTTP to a site that takes them only over HTTPS."""

    default_message = "SSL Required"
