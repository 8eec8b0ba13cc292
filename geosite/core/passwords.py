"""Password hashing with argon2id at OWASP's minimum parameters (19 MiB, t=2, p=1)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)

# Verified against when the user does not exist, so that an unknown user costs the same time
# as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``password_hash`` in constant time.

    With ``password_hash`` None (unknown user) a dummy hash is verified instead, so the
    answer takes as long as for a known user.
    """
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """Return a random password for a primary site administrator created without one."""
    return secrets.token_urlsafe(15)


def check_policy(password: str) -> list[str]:
    """Return the reasons ``password`` is unacceptable (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        problems.append(f"The password must be at most {MAX_LENGTH} characters long.")
    return problems
