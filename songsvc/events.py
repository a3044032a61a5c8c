"""Song change notifications for WatchSong.

Each songsvc process holds one LISTEN connection and fans notifications out to
the watchers in that process, so a thousand watchers cost one connection."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from uuid import UUID

import psycopg
import structlog

from songsvc.store import SONG_EVENTS_CHANNEL

log = structlog.get_logger()

RECONNECT_SECONDS = 1.0


class SongEvents:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._watchers: dict[UUID, set[asyncio.Event]] = defaultdict(set)
        self._any: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    @asynccontextmanager
    async def watch(self, song_id: UUID) -> AsyncIterator[asyncio.Event]:
        """An event that is set whenever the song changes; clear it after reading."""
        changed = asyncio.Event()
        self._watchers[song_id].add(changed)
        try:
            yield changed
        finally:
            self._watchers[song_id].discard(changed)
            if not self._watchers[song_id]:
                del self._watchers[song_id]

    @asynccontextmanager
    async def watch_all(self) -> AsyncIterator[asyncio.Event]:
        """An event that is set whenever any song changes or is created."""
        changed = asyncio.Event()
        self._any.add(changed)
        try:
            yield changed
        finally:
            self._any.discard(changed)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {SONG_EVENTS_CHANNEL}")
                    # Changes missed while (re)connecting: wake every watcher to re-read.
                    self._wake_all()
                    async for notification in connection.notifies():
                        self._wake(UUID(notification.payload))
            except (psycopg.Error, OSError) as error:
                log.warning("song events connection lost; reconnecting", error=str(error))
                self._wake_all()
                await asyncio.sleep(RECONNECT_SECONDS)

    def _wake(self, song_id: UUID) -> None:
        for changed in (*self._watchers.get(song_id, ()), *self._any):
            changed.set()

    def _wake_all(self) -> None:
        for changed in (*self._any, *(e for watchers in self._watchers.values() for e in watchers)):
            changed.set()
