from datetime import UTC, datetime, timedelta

import pytest

from runtime.identity import Identity, IdentityTokens, InvalidToken, PrincipalKind

KEY = "k" * 48
ADA = Identity(kind=PrincipalKind.USER, subject="ada", session_id="s1", display_name="Ada")


def test_round_trip() -> None:
    tokens = IdentityTokens(KEY, ttl=timedelta(minutes=5))
    signed = tokens.mint(ADA)
    assert tokens.verify(signed.token) == ADA
    assert timedelta(minutes=4) < signed.expire_time - datetime.now(UTC) <= timedelta(minutes=5)


def test_expired_token_is_refused() -> None:
    tokens = IdentityTokens(KEY, ttl=timedelta(minutes=5))
    old = tokens.mint(ADA, now=datetime.now(UTC) - timedelta(minutes=6))
    with pytest.raises(InvalidToken):
        tokens.verify(old.token)


def test_token_signed_with_another_key_is_refused() -> None:
    forged = IdentityTokens("f" * 48, ttl=timedelta(minutes=5)).mint(ADA)
    with pytest.raises(InvalidToken):
        IdentityTokens(KEY, ttl=timedelta(minutes=5)).verify(forged.token)


def test_tampered_token_is_refused() -> None:
    tokens = IdentityTokens(KEY, ttl=timedelta(minutes=5))
    header, payload, signature = tokens.mint(ADA).token.split(".")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{payload[:-2]}xx.{signature}")
