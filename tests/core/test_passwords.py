import statistics
import time

from geosite.core import passwords


def _median_seconds(password_hash: str | None) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        assert passwords.verify_password(password_hash, "wrong-password") is False
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def test_unknown_user_costs_as_much_as_a_wrong_password() -> None:
    """A dummy argon2id verify runs for unknown users (skipping it would be ~1000x faster)."""
    known = passwords.hash_password("the-right-password")
    assert _median_seconds(None) > 0.3 * _median_seconds(known)


def test_hashes_are_argon2id_at_owasp_minimum() -> None:
    encoded = passwords.hash_password("the-right-password")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(encoded, "the-right-password")
    assert not passwords.verify_password(encoded, "The-right-password")
    assert not passwords.verify_password("not a hash", "x")


def test_policy() -> None:
    assert passwords.check_policy("short") != []
    assert passwords.check_policy("long enough") == []
    assert passwords.check_policy("x" * 300) != []
