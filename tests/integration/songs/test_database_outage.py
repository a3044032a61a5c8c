"""The database away mid-job: the worker hands the job back without using up an
attempt, as for any outage, and the song is made once it is back. The worker reaches
PostgreSQL through a proxy the test cuts: every connection drops and new ones are
refused, as a failover or a network partition does."""

import asyncio
import threading
import time

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import conninfo_to_dict

from neutone.v1 import song_pb2
from runtime.launcher import Stack, free_port
from tests.integration.helpers import wait_until_running
from tests.integration.songs.test_generation import charges, wait_for_status
from tests.integration.songs.test_job_limits import create

OUTAGE_SECONDS = 1.5


class CuttableProxy:
    """A TCP proxy to PostgreSQL, on its own event loop in a thread."""

    def __init__(self, database_url: str) -> None:
        self._upstream = conninfo_to_dict(database_url)
        self.port = free_port()
        self.url = (
            sa.engine.make_url(database_url)
            .set(host="127.0.0.1", port=self.port, query={})
            .render_as_string(hide_password=False)
        )
        self._cut = False
        self._open: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop
        self._stop: asyncio.Event
        self._started = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def cut(self) -> None:
        self._cut = True
        self._loop.call_soon_threadsafe(self._drop_all)

    def restore(self) -> None:
        self._cut = False

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with await asyncio.start_server(self._relay, "127.0.0.1", self.port):
            self._started.set()
            await self._stop.wait()
            self._drop_all()
        # asyncio.run cancels the relays left.

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self._upstream.get("host", "127.0.0.1"), self._upstream.get("port", "5432")
        if host.startswith("/"):  # the embedded server's unix socket
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
        return await asyncio.open_connection(host, int(port))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        upstream_reader, upstream_writer = await self._connect_upstream()
        self._open |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()
            self._open.discard(sink)

    def _drop_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def __enter__(self) -> "CuttableProxy":
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def attempts(database_url: str, song_id: str) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT attempts FROM songs.jobs WHERE song_id = %s", (song_id,)
        ).fetchone()[0]


def test_a_database_outage_mid_job_costs_the_song_no_attempt(
    songs, stack: Stack, restart_worker, new_user, database_url: str
) -> None:
    user = new_user()
    with CuttableProxy(database_url) as proxy:
        restart_worker(NEUTONE_DATABASE_URL=proxy.url)
        song_id = create(songs, user)
        worker_pid = stack.processes["songsvc-worker"].pid
        assert wait_until_running(database_url, [song_id], worker_pid=worker_pid)
        proxy.cut()
        time.sleep(OUTAGE_SECONDS)
        proxy.restore()
        final = wait_for_status(songs, user, [song_id], timeout=120)[song_id]
        assert stack.processes["songsvc-worker"].poll() is None, "the worker exited"

    assert final.status == song_pb2.SONG_STATUS_READY, final.failure_reason
    # Handed back as an outage (the attempt given back), then claimed again: one attempt.
    assert attempts(database_url, song_id) == 1
    assert charges(database_url, song_id) == [("song_charge", -1)]
