"""The site's password policy for users of the built-in store (``/admin/security/passwordPolicy``).

The fields follow the password policy of ArcGIS Enterprise: a minimum length and minimum
counts of upper-case letters, lower-case letters, digits and other characters. A password is
never the username and never longer than 1,024 characters. The policy applies when a
password is set (``users/add``, ``update``, ``changePassword``, ``psa/update``); passwords
set before a change keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geosite.core.values import whole_number
from geosite.errors import InvalidParameter
from geosite.storage.base import SiteStore

SETTING = "passwordPolicy"
MAX_PASSWORD_LENGTH = 1024
_LIMITS = {"minLength": (8, 256), "minUpper": (0, 64), "minLower": (0, 64)}
_LIMITS.update({"minDigit": (0, 64), "minOther": (0, 64)})


@dataclass(frozen=True)
class PasswordPolicy:
    """What a new password must contain."""

    min_length: int = 8
    min_upper: int = 0
    min_lower: int = 0
    min_digit: int = 0
    min_other: int = 0

    def public(self) -> dict[str, Any]:
        """The policy as the API shows it."""
        default = self == PasswordPolicy()
        return {
            "passwordPolicy": {
                "type": "default" if default else "custom",
                "minLength": self.min_length,
                "minUpper": self.min_upper,
                "minLower": self.min_lower,
                "minDigit": self.min_digit,
                "minOther": self.min_other,
            }
        }

    def problems(self, username: str, password: str) -> list[str]:
        """Why ``password`` does not satisfy the policy (empty when it does)."""
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"at least {self.min_length} characters")
        counts = (
            (self.min_upper, sum(c.isupper() for c in password), "upper-case letters"),
            (self.min_lower, sum(c.islower() for c in password), "lower-case letters"),
            (self.min_digit, sum(c.isdigit() for c in password), "digits"),
            (self.min_other, sum(not c.isalnum() for c in password), "other characters"),
        )
        found += [f"at least {need} {what}" for need, have, what in counts if have < need]
        problems = ["The password needs " + ", ".join(found) + "."] if found else []
        if len(password) > MAX_PASSWORD_LENGTH:
            problems.append("The password is too long.")
        if username and password.lower() == username.lower():
            problems.append("The password cannot be the username.")
        return problems


def load(store: SiteStore) -> PasswordPolicy:
    """The site's policy (the default when none was stored)."""
    raw = store.get_setting(SETTING) or {}
    return PasswordPolicy(
        **{_FIELDS[k]: int(v) for k, v in raw.items() if k in _FIELDS and isinstance(v, int)}
    )


_FIELDS = {
    "minLength": "min_length",
    "minUpper": "min_upper",
    "minLower": "min_lower",
    "minDigit": "min_digit",
    "minOther": "min_other",
}


def updated(current: PasswordPolicy, raw: Any) -> PasswordPolicy:
    """The policy after an update with ``raw`` (fields absent keep their value)."""
    if not isinstance(raw, dict):
        raise InvalidParameter("'passwordPolicy' must be a JSON object.")
    values = {key: getattr(current, attr) for key, attr in _FIELDS.items()}
    for key, value in raw.items():
        if key == "type":
            if str(value).lower() == "default":
                return PasswordPolicy()
            continue
        if key not in _LIMITS:
            raise InvalidParameter(f"Unknown password policy field '{str(key)[:64]}'.")
        values[key] = whole_number(value, key, *_LIMITS[key])
    policy = PasswordPolicy(**{_FIELDS[k]: v for k, v in values.items()})
    least = policy.min_upper + policy.min_lower + policy.min_digit + policy.min_other
    if least > policy.min_length:
        policy = PasswordPolicy(**{**_attrs(policy), "min_length": least})
    return policy


def _attrs(policy: PasswordPolicy) -> dict[str, int]:
    return {attr: getattr(policy, attr) for attr in _FIELDS.values()}


def stored(policy: PasswordPolicy) -> dict[str, int]:
    """The policy as the site's settings keep it."""
    return {key: getattr(policy, attr) for key, attr in _FIELDS.items()}


def save(store: SiteStore, policy: PasswordPolicy) -> None:
    """Store the policy."""
    store.put_setting(SETTING, stored(policy))


def check(store: SiteStore, username: str, password: str | None) -> str:
    """The password, when the site's policy accepts it for this user."""
    problems = load(store).problems(username, password or "")
    if problems:
        raise InvalidParameter(problems[0], details=problems[1:])
    return password or ""
