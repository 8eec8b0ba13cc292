import pytest

from geosite.core import tokens
from geosite.core.models import TokenClaims
from geosite.errors import CLIENT_MISMATCH, EXPIRED_TOKEN, InvalidParameter, InvalidToken

SECRET = "a" * 64
NOW = 1_800_000_000_000


def _claims(**over: object) -> TokenClaims:
    values: dict[str, object] = {
        "username": "alice",
        "expires_ms": NOW + 60_000,
        "client": tokens.CLIENT_IP,
        "binding": "10.0.0.1",
        "token_version": 1,
        "key_version": 1,
        "user_id": "0123456789abcdef0123456789abcdef",
    }
    values.update(over)
    return TokenClaims(**values)  # type: ignore[arg-type]


def _verify(token: str, *, now: int = NOW, ip: str = "10.0.0.1", referer: str = "") -> TokenClaims:
    return tokens.verify(token, lambda v: SECRET if v == 1 else None, now, ip, referer)


def test_round_trip() -> None:
    token = tokens.issue(_claims(), SECRET)
    assert _verify(token) == _claims()


def test_two_tokens_for_the_same_claims_differ() -> None:
    assert tokens.issue(_claims(), SECRET) != tokens.issue(_claims(), SECRET)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t[1:],
        lambda t: t.replace(".", ""),
        lambda t: t + ".extra",
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: "." * 3000,
    ],
)
def test_tampered_tokens_are_rejected(mutate) -> None:  # type: ignore[no-untyped-def]
    token = tokens.issue(_claims(), SECRET)
    with pytest.raises(InvalidToken) as info:
        _verify(mutate(token))
    assert info.value.code == 498


def test_payload_change_breaks_signature() -> None:
    import base64

    import orjson

    token = tokens.issue(_claims(), SECRET)
    payload, sig = token.split(".")
    body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["u"] = "mallory"
    forged = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode() + "." + sig
    with pytest.raises(InvalidToken):
        _verify(forged)


def _signed(body: dict[str, object]) -> str:
    import base64
    import hashlib
    import hmac

    import orjson

    payload = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode()
    mac = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()
    return payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_the_token_names_the_users_identifier() -> None:
    """A token carries the identifier; one signed without it (an older geosite's) is invalid."""
    assert _verify(tokens.issue(_claims(), SECRET)).user_id == _claims().user_id
    old = {"u": "alice", "e": NOW + 60_000, "c": "ip", "b": "10.0.0.1", "v": 1, "k": 1, "n": "x"}
    assert _verify(_signed({**old, "i": "ab"})).user_id == "ab"  # the signing is right
    with pytest.raises(InvalidToken) as info:
        _verify(_signed(old))
    assert info.value.code == 498


def test_signed_with_other_secret_is_rejected() -> None:
    token = tokens.issue(_claims(), "b" * 64)
    with pytest.raises(InvalidToken):
        _verify(token)


def test_unknown_key_version_is_rejected() -> None:
    token = tokens.issue(_claims(key_version=7), SECRET)
    with pytest.raises(InvalidToken):
        _verify(token)


def test_expired() -> None:
    token = tokens.issue(_claims(), SECRET)
    with pytest.raises(InvalidToken) as info:
        _verify(token, now=NOW + 60_000)
    assert info.value.messages == [EXPIRED_TOKEN]


def test_ip_binding() -> None:
    token = tokens.issue(_claims(), SECRET)
    with pytest.raises(InvalidToken) as info:
        _verify(token, ip="10.0.0.2")
    assert info.value.messages == [CLIENT_MISMATCH]


def test_referer_binding_is_a_prefix_match() -> None:
    token = tokens.issue(
        _claims(client=tokens.CLIENT_REFERER, binding="https://app.example/"), SECRET
    )
    assert _verify(token, referer="https://app.example/map.html").username == "alice"
    for bad in ("", "https://evil.example/", "https://app.example"):
        with pytest.raises(InvalidToken):
            _verify(token, referer=bad)


def test_resolve_binding() -> None:
    assert tokens.resolve_binding("requestip", "", "", "1.2.3.4") == (tokens.CLIENT_IP, "1.2.3.4")
    assert tokens.resolve_binding("IP", "", "5.6.7.8", "1.2.3.4") == (tokens.CLIENT_IP, "5.6.7.8")
    assert tokens.resolve_binding("referrer", "http", "", "1.2.3.4") == (
        tokens.CLIENT_REFERER,
        "http",
    )
    for client, referer, ip in (("ip", "", ""), ("referer", "", ""), ("bogus", "x", "y")):
        with pytest.raises(InvalidParameter):
            tokens.resolve_binding(client, referer, ip, "1.2.3.4")
