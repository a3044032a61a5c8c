"""The rate limiter's arithmetic: limits, decisions from what the statement returns,
and the keys clients get."""

import pytest

from runtime.ratelimit import Decision, Limit, client_network, decide, key_hash

FIVE_PER_15_MINUTES = Limit(count=5, window_seconds=900)


@pytest.mark.parametrize(("count", "window"), [(0, 60), (-1, 60), (5, 0), (5, -1)])
def test_a_limit_allows_something_over_some_time(count: int, window: float) -> None:
    with pytest.raises(ValueError, match="limit"):
        Limit(count=count, window_seconds=window)


def test_each_call_uses_its_share_of_the_window() -> None:
    assert FIVE_PER_15_MINUTES.share_seconds == 180


def test_an_allowed_call_within_the_window_goes_at_once() -> None:
    # The fifth of five calls at once: the full allowance is one window ahead.
    assert decide(allowed=True, full_allowance_in=900, limit=FIVE_PER_15_MINUTES) == Decision(
        allowed=True, wait_seconds=0
    )


def test_an_allowed_call_beyond_the_window_waits_its_turn() -> None:
    # The sixth, which accepted to wait: its turn is one share later.
    decision = decide(allowed=True, full_allowance_in=1080, limit=FIVE_PER_15_MINUTES)
    assert decision.allowed and decision.wait_seconds == pytest.approx(180)


def test_a_refused_call_may_retry_once_a_share_has_come_back() -> None:
    decision = decide(allowed=False, full_allowance_in=900, limit=FIVE_PER_15_MINUTES)
    assert not decision.allowed
    assert decision.retry_after_seconds == pytest.approx(180)
    # Three minutes later the full allowance is 720 s ahead: one call fits again.
    later = decide(allowed=False, full_allowance_in=720, limit=FIVE_PER_15_MINUTES)
    assert later.retry_after_seconds == 0


@pytest.mark.parametrize(("seconds", "whole"), [(0.0, 1), (0.2, 1), (1.0, 1), (179.01, 180)])
def test_retry_info_carries_whole_seconds_rounded_up(seconds: float, whole: int) -> None:
    decision = Decision(allowed=False, retry_after_seconds=seconds)
    assert decision.retry_after_whole_seconds == whole


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unix:/run/neutone.sock", "unix:/run/neutone.sock"),
    ],
)
def test_a_client_is_an_ipv4_address_or_an_ipv6_64(address: str, network: str) -> None:
    assert client_network(address) == network


def test_keys_are_stored_as_fixed_size_hashes() -> None:
    assert len(key_hash("sign-in:someone@example.com")) == 32
    assert key_hash("a") != key_hash("b")
