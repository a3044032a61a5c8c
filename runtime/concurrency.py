"""Running steps at once, safely for database work."""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Runs both to the end, then raises the first one's failure, else the second's.

    Unlike asyncio.gather, nothing is left running after the other failed (a
    stray statement on a connection that is being rolled back); unlike a
    TaskGroup, nothing is cancelled midway (a half-sent statement or RPC)."""
    first_outcome, second_outcome = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in (first_outcome, second_outcome):
        if isinstance(outcome, BaseException):
            raise outcome
    return first_outcome, second_outcome  # type: ignore[return-value]


async def all_of(*steps: Awaitable[A]) -> list[A]:
    """Like `both`, for any number of steps of one kind: every one runs to its end."""
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]
