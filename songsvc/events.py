"""Notifications from PostgreSQL: song changes for WatchSong, queued jobs for the
workers.

Each songsvc process holds one LISTEN connection and fans notifications out to
the watchers in that process, so a thousand watchers cost one connection."""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from uuid import UUID

import psycopg
import structlog

from songsvc.store import JOBS_QUEUED_CHANNEL, SONG_EVENTS_CHANNEL

log = structlog.get_logger()

RECONNECT_SECONDS = 1.0


class SongEvents:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._watchers: dict[UUID, set[asyncio.Event]] = defaultdict(set)
        self._queue_watchers: set[asyncio.Event] = set()
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
    async def watch_queue(self) -> AsyncIterator[asyncio.Event]:
        """An event that is set whenever a job may have become claimable."""
        queued = asyncio.Event()
        self._queue_watchers.add(queued)
        try:
            yield queued
        finally:
            self._queue_watchers.discard(queued)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {SONG_EVENTS_CHANNEL}")
                    await connection.execute(f"LISTEN {JOBS_QUEUED_CHANNEL}")
                    # Changes missed while (re)connecting: wake every watcher to re-read.
                    self._wake_all()
                    async for notification in connection.notifies():
                        if notification.channel == JOBS_QUEUED_CHANNEL:
                            for queued in self._queue_watchers:
                                queued.set()
                        else:
                            self._wake(UUID(notification.payload))
            except (psycopg.Error, OSError) as error:
                log.warning("song events connection lost; reconnecting", error=str(error))
                self._wake_all()
                await asyncio.sleep(RECONNECT_SECONDS)

    def _wake(self, song_id: UUID) -> None:
        for changed in self._watchers.get(song_id, ()):
            changed.set()

    def _wake_all(self) -> None:
        everyone = (*self._queue_watchers, *(e for ws in self._watchers.values() for e in ws))
        for changed in everyone:
            changed.set()
