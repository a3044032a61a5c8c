"""WatchSong streams held open through the gateway, as browser tabs following their
songs hold them, in a thread of their own (with its own event loop): they stay
open while the other chaos tests run."""

import asyncio
import threading
import time
from contextlib import suppress
from dataclasses import dataclass

import aiohttp

from neutone.v1 import song_service_pb2 as pb
from tests.chaos.web import CallFailed, Gateway
from tests.integration.helpers import SignedUpUser

OPEN_TIMEOUT_SECONDS = 60.0


@dataclass
class HeldStream:
    updates: int = 0
    # Why the stream ended before the soak let it go; None while it is open.
    ended: str | None = None


class Soak:
    def __init__(
        self, url: str, watchers: list[tuple[SignedUpUser, str]], *, hold_seconds: float
    ) -> None:
        """`watchers`: a person and the song they watch, one per stream."""
        self.streams = [HeldStream() for _ in watchers]
        self.hold_seconds = hold_seconds
        # Set once every stream had its first update (or OPEN_TIMEOUT_SECONDS passed).
        self.opened = threading.Event()
        self.open_seconds = 0.0
        # From the moment every stream was open until they were let go.
        self.held_seconds = 0.0
        self._url = url
        self._watchers = watchers
        self._release = threading.Event()
        # Streams yet to send their first update or to fail, and the sign that none are.
        self._unanswered = len(watchers)
        self._everyone_answered = asyncio.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="soak")

    def start(self) -> None:
        self._thread.start()

    def result(self) -> list[HeldStream]:
        """The streams, once the soak let them go after `hold_seconds`."""
        self._thread.join()
        return self.streams

    def stop(self) -> None:
        """Lets the streams go now."""
        self._release.set()
        self._thread.join()

    async def _run(self) -> None:
        async with aiohttp.ClientSession(
            # One connection per stream, as separate browsers have.
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
        ) as http:
            gateway = Gateway(http, self._url)
            started = time.monotonic()
            holding = [
                asyncio.create_task(self._hold(gateway, user, song_id, stream))
                for (user, song_id), stream in zip(self._watchers, self.streams, strict=True)
            ]
            with suppress(TimeoutError):
                await asyncio.wait_for(self._everyone_answered.wait(), OPEN_TIMEOUT_SECONDS)
            opened = time.monotonic()
            self.open_seconds = opened - started
            self.opened.set()
            await asyncio.to_thread(self._release.wait, self.hold_seconds)
            self.held_seconds = time.monotonic() - opened
            for task in holding:
                task.cancel()
            await asyncio.gather(*holding, return_exceptions=True)

    async def _hold(
        self, gateway: Gateway, user: SignedUpUser, song_id: str, stream: HeldStream
    ) -> None:
        request = pb.WatchSongRequest(song_id=song_id)
        try:
            async for _ in gateway.stream(user, "SongService/WatchSong", request):
                stream.updates += 1
                if stream.updates == 1:
                    self._answered()
            stream.ended = "it ended (OK)"
        except (CallFailed, aiohttp.ClientError) as error:
            stream.ended = f"it failed: {error!r}"
        if not stream.updates:
            self._answered()

    def _answered(self) -> None:
        self._unanswered -= 1
        if not self._unanswered:
            self._everyone_answered.set()
