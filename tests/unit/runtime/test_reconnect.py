"""A channel whose server is away tries again every 2 s at most.

gRPC's default backoff grows to 2 minutes, so a service kept failing its calls to
Triton (lyrics suggestions) long after Triton had restarted. Here a listener that
drops every connection records when each channel tries again."""

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from runtime.clients import CHANNEL_OPTIONS
from songsvc.models import triton_channel_args

WATCHED_SECONDS = 11.5
# 2 s, and gRPC's jitter of 20 %. The default backoff's gaps reach 3.3 s within
# the watched time, even at its lowest jitter: 1, 1.6, 2.56 then 4.1 s.
LONGEST_GAP_SECONDS = 2.45


class DroppingListener:
    """Accepts TCP connections and closes them at once, noting when each came."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.attempts: list[float] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.attempts.append(time.monotonic())
            connection.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def listeners() -> Iterator[tuple[DroppingListener, DroppingListener]]:
    pair = (DroppingListener(), DroppingListener())
    yield pair
    for listener in pair:
        listener.close()


async def test_service_and_triton_channels_retry_a_lost_server_within_two_seconds(
    listeners: tuple[DroppingListener, DroppingListener],
) -> None:
    to_service, to_triton = listeners
    channels = [
        grpc.aio.insecure_channel(to_service.address, options=CHANNEL_OPTIONS),
        grpc.aio.insecure_channel(to_triton.address, options=triton_channel_args()),
    ]
    try:
        for channel in channels:
            channel.get_state(try_to_connect=True)
        await asyncio.sleep(WATCHED_SECONDS)
    finally:
        for channel in channels:
            await channel.close()
    for name, listener in (("service", to_service), ("triton", to_triton)):
        gaps = [later - earlier for earlier, later in itertools.pairwise(listener.attempts)]
        assert len(gaps) >= 5, f"{name}: tried {len(listener.attempts)} times"
        assert max(gaps) <= LONGEST_GAP_SECONDS, f"{name}: {[round(gap, 2) for gap in gaps]}"
