"""Bounded threads: never more runs at once than the bound, and a queue that gives
up only when the work could no longer finish in time."""

import asyncio
import threading
import time

import pytest

from runtime.threads import BoundedThreads, Busy


class Gauge:
    """Counts how many runs are in progress, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def work(self, seconds: float) -> float:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self._lock:
            self.now -= 1
        return seconds


async def test_no_more_runs_at_once_than_the_bound() -> None:
    threads = BoundedThreads(2, name="test")
    gauge = Gauge()
    results = await asyncio.gather(
        *(threads.run(lambda: gauge.work(0.05), finish_by=None) for _ in range(8))
    )
    assert results == [0.05] * 8
    assert gauge.most == 2
    threads.close()


async def test_a_caller_whose_work_cannot_finish_in_time_is_told_busy() -> None:
    threads = BoundedThreads(1, name="test", typical_seconds=0.2)
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(threads.run(lambda: time.sleep(0.5), finish_by=None))
    await asyncio.sleep(0.05)
    started = loop.time()
    with pytest.raises(Busy) as busy:
        # 0.6 s left, less twice the typical run: it gives up after about 0.2 s,
        # while the first run still holds the thread.
        await threads.run(lambda: None, finish_by=started + 0.6)
    assert 0.1 < loop.time() - started < 0.4
    assert busy.value.retry_after_seconds > 0
    await first
    threads.close()


async def test_a_queued_caller_runs_when_a_thread_comes_free_in_time() -> None:
    threads = BoundedThreads(1, name="test", typical_seconds=0.05)
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(threads.run(lambda: time.sleep(0.2), finish_by=None))
    await asyncio.sleep(0.02)
    assert await threads.run(lambda: "done", finish_by=loop.time() + 5) == "done"
    await first
    threads.close()


async def test_a_cancelled_callers_work_keeps_its_thread_until_it_ends() -> None:
    threads = BoundedThreads(1, name="test")
    gauge = Gauge()
    abandoned = asyncio.create_task(threads.run(lambda: gauge.work(0.3), finish_by=None))
    await asyncio.sleep(0.05)
    abandoned.cancel()
    # The next run waits for the abandoned one to end: never two at once.
    await threads.run(lambda: gauge.work(0.01), finish_by=None)
    assert gauge.most == 1
    threads.close()


async def test_the_typical_run_time_follows_the_runs() -> None:
    threads = BoundedThreads(1, name="test", typical_seconds=1.0)
    for _ in range(20):
        await threads.run(lambda: time.sleep(0.01), finish_by=None)
    assert threads.typical_seconds < 0.1
    threads.close()


def test_at_least_one_thread() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedThreads(0, name="test")
