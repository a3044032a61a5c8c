"""The generation worker's probes and queue metrics, on the real worker process:
/livez fails when its claim loop stops coming round though the process runs,
/readyz follows the database, and its metrics report the whole queue."""

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime import database
from runtime.launcher import Stack, free_port
from songsvc import store
from songsvc.tables import jobs as jobs_table
from tests.integration.helpers import eventually, scrape
from tests.integration.songs.test_queue import song_values

LIVENESS_SECONDS = 2


@pytest.fixture(scope="module")
def worker_database(database_server_url: str) -> Iterator[str]:
    """A database of its own: the worker must see only this module's jobs."""
    url = database.create_scratch_database(database_server_url, prefix="neutone_worker_health")
    database.upgrade(url)
    yield url
    database.drop_database(database_server_url, url)


@pytest.fixture(scope="module")
def worker_port(
    stack: Stack, worker_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A worker on that database (no job it could claim: no Triton needed): its
    probes and metrics port, and its process."""
    port = str(free_port())
    log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or tmp_path_factory.mktemp("logs"))
    own = Stack(
        {
            **stack.env,
            "NEUTONE_DATABASE_URL": worker_database,
            "NEUTONE_METRICS_PORT": port,
            "NEUTONE_WORKER_POLL_SECONDS": "0.2",
            "NEUTONE_WORKER_LIVENESS_SECONDS": str(LIVENESS_SECONDS),
            "NEUTONE_QUEUE_METRICS_SECONDS": "0.2",
        },
        log_dir=log_dir / "worker-health",
    )
    own.start("songsvc-worker")
    try:
        yield port, own.processes["songsvc-worker"]
    finally:
        own.stop_all()


def _status(port: str, path: str) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except httpx.TransportError:
        return None


@pytest.fixture
async def engine(worker_database: str) -> AsyncIterator[AsyncEngine]:
    engine = database.create_engine(worker_database, pool_size=2)
    async with engine.begin() as db:
        await db.execute(sa.text("TRUNCATE songs.songs CASCADE"))
    yield engine
    await engine.dispose()


def test_a_running_worker_is_live_and_ready(worker_port: tuple[str, subprocess.Popen]) -> None:
    port, _ = worker_port
    eventually(lambda: _status(port, "/livez") == 200, timeout=30, what="worker live")
    eventually(lambda: _status(port, "/readyz") == 200, timeout=30, what="worker ready")


def test_a_worker_whose_claim_loop_hangs_is_reported_dead_while_it_runs(
    worker_port: tuple[str, subprocess.Popen], worker_database: str
) -> None:
    port, process = worker_port
    eventually(lambda: _status(port, "/livez") == 200, timeout=30, what="worker live")
    # A lock the worker's claim waits for, as behind a stuck migration or a
    # session left open: its next claim hangs in the database, not in Python.
    with psycopg.connect(worker_database) as blocker:
        blocker.execute("LOCK TABLE songs.jobs IN ACCESS EXCLUSIVE MODE")
        eventually(
            lambda: _status(port, "/livez") == 503,
            timeout=LIVENESS_SECONDS + 10,
            what="liveness failing",
        )
        report = httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).text
        assert report.startswith("claim_loop: last beat ")
        # Alive as a process, and still answering: only the heartbeat tells.
        assert process.poll() is None
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        assert samples['neutone_heartbeat_age_seconds{heartbeat="claim_loop"}'] > LIVENESS_SECONDS
        blocker.rollback()
    # The lock gone, the loop comes round again.
    eventually(lambda: _status(port, "/livez") == 200, timeout=15, what="liveness back")


async def test_the_metrics_report_the_whole_queue(
    worker_port: tuple[str, subprocess.Popen], engine: AsyncEngine
) -> None:
    port, _ = worker_port
    owner = uuid.uuid4()
    async with engine.begin() as db:
        # Out of the worker's reach from the start (one transaction: a job visible
        # for a moment would be claimed): waiting out a backoff, and queued for a
        # minute already.
        waiting = [
            (await store.create_song(db, song_values(owner), deadline_seconds=600)).id
            for _ in range(3)
        ]
        await db.execute(
            sa.update(jobs_table)
            .where(jobs_table.c.song_id.in_(waiting))
            .values(
                run_after=sa.func.now() + sa.text("interval '1 hour'"),
                enqueue_time=sa.func.now() - sa.text("interval '60 seconds'"),
            )
        )

    def reported() -> bool:
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        return (
            samples.get('neutone_queue_jobs{state="queued"}') == 3
            and samples.get('neutone_queue_jobs{state="running"}') == 0
            and 60 <= samples.get("neutone_queue_oldest_queued_seconds", 0) < 120
            and samples.get("neutone_worker_jobs_in_flight") == 0
        )

    eventually(reported, timeout=15, what="the queue in the worker's metrics")
