"""Logins, lockouts and token verification.

``Authenticator.login`` answers unknown users and wrong passwords alike, in about the same
time (a dummy argon2id verify runs for unknown users). Failed logins are counted per account
name (existing or not) and per client address in the site store, so every worker of every
machine sees them; too many lock the name or the address for a while.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from geosite.core import passwords, sealing, tokens
from geosite.core.clock import Clock
from geosite.core.models import LockoutPolicy, Principal, Privilege, TokenClaims, TokenPolicy, User
from geosite.errors import (
    REVOKED_TOKEN,
    BadRequest,
    InvalidParameter,
    InvalidToken,
    LoginFailed,
)
from geosite.storage.base import SiteStore

INVALID_CREDENTIALS = "Invalid username or password."
LOCKED = "Too many failed login attempts. Try again later."


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token and its expiry."""

    token: str
    expires_ms: int
    user: User


_MIN_KEY_VERSION = "tokenKeyMinVersion"
_MAX_TIMEOUT_MIN = 365 * 24 * 60
TOKEN_POLICY = "tokenPolicy"  # noqa: S105 - a settings key, not a secret


def stored_token_policy(policy: TokenPolicy) -> dict[str, Any]:
    """The policy as the site's settings keep it, after checking its timeouts."""
    if not 1 <= policy.short_timeout <= policy.long_timeout <= _MAX_TIMEOUT_MIN:
        raise InvalidParameter(
            f"Timeouts must satisfy 1 <= shortTimeout <= longTimeout <= {_MAX_TIMEOUT_MIN} "
            "(minutes)."
        )
    return {
        "shortTimeout": policy.short_timeout,
        "longTimeout": policy.long_timeout,
        "allowHttpGet": policy.allow_http_get,
    }


class Authenticator:
    """Issue and verify tokens for one site."""

    def __init__(
        self,
        store: SiteStore,
        clock: Clock,
        lockout: LockoutPolicy | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lockout = lockout or LockoutPolicy()
        self._secrets: dict[int, str] = {}

    # -- keys -------------------------------------------------------------------------------------
    def _secret_for(self, version: int) -> str | None:
        # Read on every check, so that a key rotation on any worker ends old tokens on all.
        if version < int(self._store.get_setting(_MIN_KEY_VERSION) or 0):
            return None
        secret = self._secrets.get(version)
        if secret is None:
            stored = self._store.token_key(version)
            if stored is not None:
                secret = sealing.of(self._store).open(stored, tokens.KEY_PURPOSE)
                self._secrets[version] = secret
        return secret

    def _new_key(self) -> tuple[int, str]:
        secret = tokens.new_secret()
        sealed = sealing.of(self._store).seal(secret, tokens.KEY_PURPOSE)
        return self._store.add_token_key(sealed), secret

    def _current_key(self) -> tuple[int, str]:
        current = self._store.current_token_key()
        if current is None:
            return self._new_key()
        version, stored = current
        return version, sealing.of(self._store).open(stored, tokens.KEY_PURPOSE)

    def rotate_key(self) -> int:
        """A new signing key; every token signed with an older one is refused from now on."""
        version, _ = self._new_key()
        self._store.put_setting(_MIN_KEY_VERSION, version)
        return version

    def update_token_policy(self, policy: TokenPolicy) -> None:
        """Store new timeouts and the GET rule (tokens already issued keep their expiry)."""
        self._store.put_setting(TOKEN_POLICY, stored_token_policy(policy))

    def token_policy(self) -> TokenPolicy:
        """The site's token policy."""
        raw = self._store.get_setting(TOKEN_POLICY) or {}
        return TokenPolicy(
            short_timeout=int(raw.get("shortTimeout", 60)),
            long_timeout=int(raw.get("longTimeout", 1440)),
            allow_http_get=bool(raw.get("allowHttpGet", False)),
        )

    # -- login ------------------------------------------------------------------------------------
    def privilege_of(self, user: User) -> Privilege | None:
        """The user's privilege: ADMINISTER for the primary site administrator."""
        if user.is_psa:
            return Privilege.ADMINISTER
        return self._store.user_privilege(user.username)

    def _failures(self, key: str) -> list[int]:
        return self._store.login_failures(key, self._clock.now_ms() - self._lockout.window_s * 1000)

    def _is_locked(self, failures: list[int], limit: int) -> bool:
        now = self._clock.now_ms()
        return len(failures) >= limit and now < failures[-1] + self._lockout.lock_s * 1000

    def authenticate(self, username: str, password: str, client_address: str) -> User:
        """Return the user when the credentials are right; raise ``LoginFailed`` otherwise."""
        if not username or not password:
            raise BadRequest(
                "Unable to generate token.",
                details=["'username' and 'password' must be specified."],
            )
        account_key = "user:" + username.strip().lower()
        address_key = "addr:" + client_address
        account_failures = self._failures(account_key)
        if self._is_locked(account_failures, self._lockout.max_failures) or self._is_locked(
            self._failures(address_key), self._lockout.max_failures_per_address
        ):
            raise LoginFailed(details=[LOCKED])
        user = self._store.get_user(username.strip())
        ok = passwords.verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            now = self._clock.now_ms()
            self._store.record_login_failure(
                [account_key, address_key], now, prune_before_ms=now - self._lockout.window_s * 1000
            )
            raise LoginFailed(details=[INVALID_CREDENTIALS])
        if account_failures:  # lockout counts consecutive failures: a success starts again
            self._store.clear_login_failures(account_key)
        return user

    def issue_token(
        self,
        user: User,
        *,
        client: str,
        referer: str,
        ip: str,
        request_ip: str,
        expiration_min: int | None,
    ) -> IssuedToken:
        """Issue a token for an authenticated user, capped by the token policy."""
        policy = self.token_policy()
        minutes = policy.short_timeout if expiration_min is None else expiration_min
        minutes = max(1, min(minutes, policy.long_timeout))
        kind, binding = tokens.resolve_binding(client, referer, ip, request_ip)
        version, secret = self._current_key()
        expires = self._clock.now_ms() + minutes * 60_000
        claims = TokenClaims(
            username=user.username,
            expires_ms=expires,
            client=kind,
            binding=binding,
            token_version=user.token_version,
            key_version=version,
            user_id=user.user_id,
        )
        return IssuedToken(tokens.issue(claims, secret), expires, user)

    # -- verification -----------------------------------------------------------------------------
    def verify(self, token: str, client_ip: str, referer: str) -> Principal:
        """Return the principal a token stands for, or raise ``InvalidToken``."""
        claims = tokens.verify(token, self._secret_for, self._clock.now_ms(), client_ip, referer)
        user = self._store.get_user(claims.username)
        if (
            user is None
            or not user.user_id
            or not hmac.compare_digest(user.user_id.encode(), claims.user_id.encode())
            or user.disabled
            or user.token_version != claims.token_version
        ):
            # Removed, or removed and made again under the same name (another identifier),
            # disabled, or its password or roles changed since the token was issued.
            raise InvalidToken(REVOKED_TOKEN)
        privilege = self.privilege_of(user) or Privilege.ACCESS
        return Principal(
            username=user.username,
            privilege=privilege,
            expires_ms=claims.expires_ms,
            token_nonce=tokens.nonce_of(token),
        )
