"""A fixed number of threads for heavy blocking work, with a queue that respects
deadlines.

The default executor has as many threads as the node has CPUs, whatever the pod's
memory: work that holds much memory while it runs (argon2 password hashes take
64 MiB each) needs a bound of its own. Callers beyond the bound wait their turn, but
only while their work can still finish before their deadline."""

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Weight of the latest run in the typical run time (an exponential moving average).
LATEST_RUN_WEIGHT = 0.2


class Busy(Exception):
    """No thread came free while the work could still finish in time."""

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(f"busy; retry in {retry_after_seconds:.1f}s")
        self.retry_after_seconds = retry_after_seconds


class BoundedThreads:
    def __init__(self, size: int, *, name: str, typical_seconds: float = 0.0) -> None:
        if size < 1:
            raise ValueError(f"at least one thread is needed, not {size}")
        self.size = size
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
        self._slots = asyncio.Semaphore(size)
        self._waiting = 0
        # How long one run usually takes; decides whether a queued run still fits.
        self.typical_seconds = typical_seconds

    async def run(self, work: Callable[[], T], *, finish_by: float | None) -> T:
        """Runs `work` on one of the threads once one is free. `finish_by` is the
        caller's deadline on the event loop's clock: the wait ends, with `Busy`,
        when less than twice the typical run time is left (the run, and as much
        again for whatever the caller does after it)."""
        give_up_at = None if finish_by is None else finish_by - 2 * self.typical_seconds
        self._waiting += 1
        try:
            async with asyncio.timeout_at(give_up_at):
                await self._slots.acquire()
        except TimeoutError:
            raise Busy(self._time_to_clear_queue()) from None
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        try:
            future = self._pool.submit(self._timed, work)
        except BaseException:
            self._slots.release()
            raise
        # The slot is free when the thread is done, not when the caller stops
        # waiting: a cancelled caller's work still runs, and holds its memory, to
        # the end.
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._slots.release))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _timed(self, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            elapsed = time.perf_counter() - started
            # Written from the threads: a lost update only slows the average down.
            self.typical_seconds += LATEST_RUN_WEIGHT * (elapsed - self.typical_seconds)

    def _time_to_clear_queue(self) -> float:
        """Roughly when the runs queued now will have started."""
        return math.ceil(self._waiting / self.size + 1) * self.typical_seconds
