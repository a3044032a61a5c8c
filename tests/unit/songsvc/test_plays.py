"""Listeners: who a play is from, as songsvc stores it."""

from pydantic import SecretStr

from runtime.identity import Identity, PrincipalKind
from songsvc.plays import LISTENER_BYTES, Listeners

KEY = SecretStr("k" * 48)
ALICE = Identity(kind=PrincipalKind.USER, subject="7b0b7c4e-1d7e-4d25-9d2e-7d7a8f2f4d10")
SERVICE = Identity(kind=PrincipalKind.SERVICE, subject="tests")


def test_an_account_is_one_listener_wherever_it_plays_from() -> None:
    listeners = Listeners(KEY)
    assert listeners.of(ALICE, "203.0.113.7") == listeners.of(ALICE, "198.51.100.1")
    assert len(listeners.of(ALICE, "")) == LISTENER_BYTES


def test_signed_out_callers_are_told_apart_by_address() -> None:
    listeners = Listeners(KEY)
    one, other = listeners.of(None, "203.0.113.7"), listeners.of(None, "198.51.100.1")
    assert one != other
    assert one == listeners.of(None, "203.0.113.7")
    # A service caller is not an account: its client address stands for it.
    assert listeners.of(SERVICE, "203.0.113.7") == one


def test_the_hash_is_keyed() -> None:
    assert Listeners(KEY).of(None, "203.0.113.7") != Listeners(SecretStr("o" * 48)).of(
        None, "203.0.113.7"
    )
