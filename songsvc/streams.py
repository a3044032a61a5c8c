"""How many WatchSong streams one songsvc process holds open: per user, and in all.

Each open stream costs a task, a watcher event and a database read per refresh;
without a bound, one user (or a crowd) could hold them until the process is
exhausted. The counts live in the process: with several replicas, one user may
hold the per-user limit on each of them."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from prometheus_client import Gauge

from runtime.errors import ResourceExhausted

OPEN_STREAMS = Gauge("neutone_songsvc_watch_streams", "WatchSong streams open in this process.")
# What RetryInfo suggests: about the time a stream of another tab or client takes
# to end once it is closed, or another replica to be chosen.
RETRY_AFTER_SECONDS = 5


class StreamLimits:
    def __init__(self, *, per_user: int, per_process: int) -> None:
        self._per_user = per_user
        self._per_process = per_process
        self._by_user: Counter[UUID] = Counter()
        self._open = 0

    @contextmanager
    def hold(self, user_id: UUID) -> Iterator[None]:
        """Counts one stream of the user while the block runs; RESOURCE_EXHAUSTED
        when a limit is reached."""
        if self._by_user[user_id] >= self._per_user:
            raise ResourceExhausted(
                f"at most {self._per_user} WatchSong streams may be open per user at once;"
                " close one first",
                reason="TOO_MANY_STREAMS",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
        if self._open >= self._per_process:
            raise ResourceExhausted(
                f"this server holds its limit of {self._per_process} WatchSong streams;"
                " try again shortly",
                reason="SERVER_STREAMS_FULL",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )
        self._by_user[user_id] += 1
        self._open += 1
        OPEN_STREAMS.inc()
        try:
            yield
        finally:
            self._open -= 1
            OPEN_STREAMS.dec()
            self._by_user[user_id] -= 1
            if self._by_user[user_id] <= 0:
                del self._by_user[user_id]
