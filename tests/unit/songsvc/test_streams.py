"""StreamLimits: per user and per process, and a place is freed however a stream ends."""

import asyncio
import uuid

import pytest

from runtime.errors import ResourceExhausted
from songsvc.streams import StreamLimits

ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def open_and_close(limits: StreamLimits, user: uuid.UUID) -> None:
    with limits.hold(user):
        pass


def test_a_user_past_their_limit_is_refused_others_are_not() -> None:
    limits = StreamLimits(per_user=2, per_process=10)
    with limits.hold(ALICE), limits.hold(ALICE):
        with pytest.raises(ResourceExhausted, match="at most 2 WatchSong streams") as refused:
            open_and_close(limits, ALICE)
        assert refused.value.reason == "TOO_MANY_STREAMS"
        assert refused.value.retry_after_seconds > 0
        open_and_close(limits, BOB)


def test_the_process_limit_counts_everyone() -> None:
    limits = StreamLimits(per_user=5, per_process=2)
    with limits.hold(ALICE), limits.hold(BOB):
        with pytest.raises(ResourceExhausted, match="limit of 2") as refused:
            open_and_close(limits, uuid.uuid4())
        assert refused.value.reason == "SERVER_STREAMS_FULL"


@pytest.mark.parametrize("ending", [RuntimeError("read failed"), asyncio.CancelledError()])
def test_a_place_is_freed_when_a_stream_fails_or_is_cancelled(ending: BaseException) -> None:
    limits = StreamLimits(per_user=1, per_process=1)
    with pytest.raises(type(ending)), limits.hold(ALICE):
        raise ending
    open_and_close(limits, ALICE)
