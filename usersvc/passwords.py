"""Password hashing and checking (argon2id) on a bounded number of threads.

Each hash holds `memory_kib` while it runs, so the number running at once, not the
node's CPU count, decides usersvc's memory: the bound comes from the settings (the
chart derives it from the pod's memory limit). Calls beyond it wait their turn
within their deadline, and are refused with RESOURCE_EXHAUSTED when their turn
would come too late to finish in time."""

import math
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from runtime.errors import ResourceExhausted
from runtime.threads import BoundedThreads, Busy

T = TypeVar("T")


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, at_once: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        started = time.perf_counter()
        # Checked against when the email is unknown, so both paths cost the same time.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._threads = BoundedThreads(
            at_once, name="argon2", typical_seconds=time.perf_counter() - started
        )

    async def hash(self, password: str, *, finish_by: float | None) -> str:
        return await self._run(partial(self._hasher.hash, password), finish_by)

    async def matches(
        self, stored_hash: str | None, password: str, *, finish_by: float | None
    ) -> bool:
        """Whether `password` matches `stored_hash`; without one (an unknown email)
        a decoy is checked, so the answer takes as long and is False."""
        try:
            matched = await self._run(
                partial(self._hasher.verify, stored_hash or self._decoy_hash, password), finish_by
            )
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored_hash is not None

    @property
    def margin(self) -> float:
        """How long before its deadline a call should start on a password: time for
        a typical hash, and as much again for the rest of the call."""
        return 2 * self._threads.typical_seconds

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)

    def close(self) -> None:
        self._threads.close()

    async def _run(self, work: Callable[[], T], finish_by: float | None) -> T:
        try:
            return await self._threads.run(work, finish_by=finish_by)
        except Busy as busy:
            raise ResourceExhausted(
                "too many passwords are being checked at once; try again shortly",
                reason="PASSWORD_CHECKS_BUSY",
                retry_after_seconds=max(1, math.ceil(busy.retry_after_seconds)),
            ) from None
