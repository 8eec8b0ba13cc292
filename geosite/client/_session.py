"""``Session``: HTTP to one site, with its token kept fresh and its errors raised.

* The token service is found from ``<root>/rest/info`` (``authInfo.tokenServicesUrl``).
* A token is renewed shortly before it expires and once when the site answers 498.
* Every answer that is an ArcGIS error envelope raises, whatever its HTTP status.
* Reads (GET) are retried on connection errors; writes (POST) only when the connection was
  never made, so an operation is never sent twice.
* The token goes in the ``X-Esri-Authorization`` header, and also in the body of a POST (as
  the classic samples send it), never in a URL.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import IO, Any

import httpx

from geosite.client._errors import (
    ClientError,
    ConnectionFailed,
    InvalidToken,
    LoginFailed,
    LoginRequired,
    ServerError,
    envelope_error,
    error_for,
)

try:
    _VERSION = metadata.version("geosite")
except metadata.PackageNotFoundError:  # run from a source tree without installing
    _VERSION = "dev"
#: Renew a token this long before it expires (at most a tenth of its lifetime).
RENEW_MARGIN_S = 60.0
#: Seconds to wait before each retry of a request that did not reach the site.
RETRY_DELAYS_S = (0.25, 1.0, 2.0)

Params = Mapping[str, Any]
Progress = Callable[[int, int], None]


#: The parts of a site below its context path.
_SITE_PARTS = frozenset({"admin", "rest", "tokens", "manager", "help", "sharing"})


def site_root(url: str) -> str:
    """``scheme://host[:port]/<context>`` from any URL of a site (``.../arcgis/admin``...)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ClientError(f"Not a site URL: {url!r} ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ClientError(f"Not a site URL: {url!r} (expected https://host[:port]/arcgis)")
    segments = [s for s in parsed.path.split("/") if s]
    # The context is what comes before the site's own parts: /arcgis, /server, /gis/server.
    for index, segment in enumerate(segments):
        if segment.lower() in _SITE_PARTS:
            segments = segments[:index]
            break
    context = "/".join(segments) if segments else "arcgis"
    port = f":{parsed.port}" if parsed.port else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}/{context}"


class Token:
    """A token and when it stops working (epoch seconds on this machine's clock)."""

    def __init__(self, value: str, expires_s: float, issued_s: float | None = None) -> None:
        self.value = value
        self.expires_s = expires_s
        self.issued_s = time.time() if issued_s is None else issued_s

    def fresh(self) -> bool:
        """Whether it is worth sending (not within the renewal margin of its expiry)."""
        lifetime = max(0.0, self.expires_s - self.issued_s)
        margin = min(RENEW_MARGIN_S, lifetime / 10)
        return time.time() < self.expires_s - margin


class Session:
    """HTTP to one site: token handling, retries, and errors raised from envelopes."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: Token | None = None,
        expiration_min: int = 60,
        verify: bool = True,
        timeout: float = 120.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.root = site_root(url)
        self.username = username
        self._password = password
        self.token = token
        self.expiration_min = expiration_min
        self.retries = max(0, min(retries, len(RETRY_DELAYS_S)))
        self._token_url = ""
        self.http = httpx.Client(
            verify=verify,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"geosite-client/{_VERSION}"},
        )
        #: How many tokens this session has been given (tests and logs read it).
        self.logins = 0

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def can_login(self) -> bool:
        """Whether the session holds a user name and password to get tokens with."""
        return bool(self.username) and self._password is not None

    # -- tokens -----------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The token service this site advertises (``rest/info``), or the usual one."""
        if not self._token_url:
            found = ""
            try:
                info = self.get_json("rest/info", authenticate=False)
                found = str(info["authInfo"]["tokenServicesUrl"] or "")
            except (ClientError, KeyError, TypeError):
                found = ""
            if not found.startswith(("http://", "https://")):
                found = self.root + "/tokens/"
            self._token_url = (
                found if found.endswith("generateToken") else (found.rstrip("/") + "/generateToken")
            )
        return self._token_url

    def login(self) -> Token:
        """Get a new token with the user name and password."""
        if not self.can_login:
            raise LoginRequired(
                f"No valid token for {self.root} and no password to get one: log in again."
            )
        data = {
            "username": self.username,
            "password": self._password,
            "client": "requestip",
            "expiration": str(self.expiration_min),
            "f": "json",
        }
        issued = time.time()
        answer = self._send("POST", self.token_url, data=data, files=None, headers={}, retry=True)
        body = _json(answer)
        error = envelope_error(body)
        if error is not None:
            raise LoginFailed(error.code, error.messages)
        if not isinstance(body, dict) or not body.get("token"):
            raise ConnectionFailed(f"{self.token_url} answered without a token.")
        expires = body.get("expires")
        try:
            expires_s = int(expires) / 1000 if expires else issued + self.expiration_min * 60
        except (TypeError, ValueError):
            expires_s = issued + self.expiration_min * 60
        self.token = Token(str(body["token"]), expires_s, issued)
        self.logins += 1
        return self.token

    def _current_token(self) -> str:
        if self.token is not None and self.token.fresh():
            return self.token.value
        if self.can_login:
            return self.login().value
        if self.token is not None:
            raise LoginRequired(f"The token for {self.root} has expired: log in again.")
        return ""

    # -- requests ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """The URL of ``path`` below the site root, or ``path`` when it is a whole URL."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.root}/{path.lstrip('/')}"

    def get_json(
        self, path: str, params: Params | None = None, *, authenticate: bool = True
    ) -> Any:
        """GET ``path`` as JSON (retried on connection errors)."""
        return _json(self.request("GET", path, params, authenticate=authenticate))

    def post_json(
        self,
        path: str,
        data: Params | None = None,
        files: Mapping[str, tuple[str, IO[bytes]]] | None = None,
        *,
        idempotent: bool = False,
    ) -> Any:
        """POST an operation and return its JSON answer (``idempotent``: a read that must be
        POSTed, retried like a GET)."""
        return _json(self.request("POST", path, data, files=files, idempotent=idempotent))

    def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        files: Mapping[str, tuple[str, IO[bytes]]] | None = None,
        authenticate: bool = True,
        fmt: str = "json",
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send a request; raise the envelope's error, renewing the token once on a 498."""
        url = self.url(path)
        payload = {"f": fmt, **{k: _form_value(v) for k, v in (params or {}).items()}}
        # The token goes only to this site, never to a whole URL elsewhere.
        authenticate = authenticate and url.startswith(self.root + "/")
        for attempt in (1, 2):
            headers: dict[str, str] = {}
            token = self._current_token() if authenticate else ""
            data = dict(payload)
            if token:
                headers["X-Esri-Authorization"] = f"Bearer {token}"
                if method == "POST":
                    data["token"] = token
            answer = self._send(
                method,
                url,
                data=data,
                files=files,
                headers=headers,
                retry=method == "GET" or idempotent,
            )
            error = _answer_error(answer)
            if error is None:
                return answer
            if isinstance(error, InvalidToken) and token and attempt == 1:
                if not self.can_login:
                    raise LoginRequired(
                        f"{self.root} refused the stored token ({' '.join(error.messages)}): "
                        "log in again."
                    )
                self.token = None  # renew once, then try again
                continue
            raise error
        raise AssertionError("unreachable")

    def _send(
        self,
        method: str,
        url: str,
        *,
        data: dict[str, Any],
        files: Mapping[str, tuple[str, IO[bytes]]] | None,
        headers: dict[str, str],
        retry: bool,
    ) -> httpx.Response:
        attempts = 1 + self.retries
        for attempt in range(attempts):
            try:
                if files:
                    for _, handle in files.values():
                        handle.seek(0)
                if method == "GET":
                    return self.http.get(url, params=data, headers=headers)
                return self.http.post(url, data=data, files=files, headers=headers)
            except httpx.TransportError as exc:
                untrusted = _untrusted_certificate(exc)
                # A write is sent again only when it never reached the site.
                again = (retry or isinstance(exc, httpx.ConnectError)) and not untrusted
                if not again or attempt == attempts - 1:
                    raise ConnectionFailed(
                        f"Could not {method} {url.split('?')[0]}: {exc or type(exc).__name__}"
                        + (_CERTIFICATE_HINT if untrusted else "")
                    ) from None
                time.sleep(RETRY_DELAYS_S[attempt])
        raise AssertionError("unreachable")


_CERTIFICATE_HINT = (
    ". The site's TLS certificate is not trusted: set SSL_CERT_FILE to the file of the "
    "certificate authority that signed it (or to the site's own certificate), or, for a "
    "self-signed certificate you trust, skip the check (--insecure on the command line, "
    "verify=False in Python)."
)


def _untrusted_certificate(error: httpx.TransportError) -> bool:
    """Whether the connection failed because the site's certificate could not be verified."""
    cause: BaseException | None = error
    for _ in range(10):  # the chain is short; never follow a cycle for good
        if cause is None:
            break
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(error)


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _answer_error(answer: httpx.Response) -> ServerError | None:
    """The error an answer carries: its envelope when it is JSON, else its HTTP status."""
    kind = answer.headers.get("content-type", "")
    if "json" in kind or kind.startswith("text/plain"):
        try:
            error = envelope_error(answer.json())
        except ValueError:
            error = None
        if error is not None:
            return error
    if answer.is_redirect:
        where = answer.headers.get("location", "")
        return ServerError(
            answer.status_code, [f"The site redirects this request to {where}: use that URL."]
        )
    if answer.status_code >= 400:
        where = answer.url.copy_with(query=None)
        return error_for(answer.status_code, [f"HTTP {answer.status_code} from {where}."])
    return None


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise ConnectionFailed(
            f"{answer.url.copy_with(query=None)} answered HTTP {answer.status_code} "
            f"({answer.headers.get('content-type', 'no content type')}), not JSON."
        ) from None
