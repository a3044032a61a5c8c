"""usersvc's bound on password hashes at once, from its settings."""

import pytest

from usersvc.settings import DEFAULT_PASSWORD_HASHES_AT_ONCE, UserServiceSettings


def settings(**values: object) -> UserServiceSettings:
    return UserServiceSettings(page_token_key="p" * 48, **values)


@pytest.mark.parametrize(
    ("limit_mib", "reserve_mib", "memory_kib", "at_once"),
    [
        (768, 256, 65536, 8),  # the chart's default usersvc pod
        (1024, 256, 65536, 12),
        (800, 256, 65536, 8),  # what is left over does not make a ninth
        (300, 256, 65536, 1),  # too small for one: still one, never none
        (768, 256, 8192, 64),  # cheaper hashes, more at once
        (768, 256, 65537, 7),  # a part of a MiB counts as a whole one
    ],
)
def test_hashes_at_once_follow_the_memory_limit(
    limit_mib: int, reserve_mib: int, memory_kib: int, at_once: int
) -> None:
    derived = settings(
        memory_limit_mib=limit_mib, memory_reserve_mib=reserve_mib, password_memory_kib=memory_kib
    )
    assert derived.hashes_at_once == at_once


def test_an_explicit_number_wins_over_the_memory_limit() -> None:
    assert settings(memory_limit_mib=768, password_hashes_at_once=3).hashes_at_once == 3


def test_without_a_memory_limit_a_small_default() -> None:
    assert settings().hashes_at_once == DEFAULT_PASSWORD_HASHES_AT_ONCE
