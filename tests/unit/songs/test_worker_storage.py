"""The worker stores a finished song's files with retries inside the attempt."""

from typing import Any, cast

import pytest

from songsvc import worker as worker_module
from songsvc.settings import WorkerSettings
from songsvc.worker import StorageFailed, Worker


class FlakyStore:
    """An object store that fails its first `failures` puts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.puts = 0

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self.puts += 1
        if self.puts <= self.failures:
            raise ConnectionError("the store blinked")


def worker_with(store: FlakyStore, *, upload_attempts: int) -> Worker:
    settings = WorkerSettings(upload_attempts=upload_attempts)
    unused = cast(Any, None)
    return Worker(
        settings=settings,
        database=unused,
        models=unused,
        objects=cast(Any, store),
        credits=unused,
        releases=unused,
        events=unused,
    )


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "UPLOAD_RETRY_SECONDS", 0.001)


async def test_a_store_that_blinks_is_tried_again_within_the_attempt() -> None:
    store = FlakyStore(failures=2)
    await worker_with(store, upload_attempts=3)._store("k", b"data", content_type="audio/flac")
    assert store.puts == 3


async def test_a_store_that_keeps_failing_fails_the_attempt_naming_the_file() -> None:
    store = FlakyStore(failures=10)
    with pytest.raises(StorageFailed, match=r"storing songs/x/audio\.flac failed: ConnectionError"):
        await worker_with(store, upload_attempts=3)._store(
            "songs/x/audio.flac", b"data", content_type="audio/flac"
        )
    assert store.puts == 3
