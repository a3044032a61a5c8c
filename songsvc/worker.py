"""The generation worker: `python -m songsvc.worker`, any number of replicas.

It keeps up to `worker_concurrency` jobs in flight so that Triton's dynamic
batching can put several songs into one model execution, renews the leases of
its jobs while it works, and on SIGTERM stops claiming, lets running jobs finish
within the grace period, and hands the rest back to the queue."""

import asyncio
import dataclasses
import os
import signal
import socket
from contextlib import suppress
from uuid import UUID

import grpc
import structlog
import tenacity
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.clients import ServiceCredentials, service_channel
from runtime.concurrency import all_of, both
from runtime.database import Database, database_url
from runtime.identity import load_issuer
from runtime.logs import configure_logging
from runtime.objectstore import ObjectStore, open_object_store
from runtime.periodic import repeat
from runtime.probes import Heartbeat, Probes, serve_probes
from runtime.settings import load_settings
from runtime.tracing import configure_tracing, continued, tracer
from songsvc import audio, files, jobs, releases, store, uploads
from songsvc.billing import TRANSIENT, CreditReleased, Credits
from songsvc.events import SongEvents
from songsvc.jobs import Claim, JobState
from songsvc.models import (
    Audio,
    ModelError,
    ModelRefused,
    ModelTier,
    ModelUnavailable,
    Plan,
    Sources,
    TritonModels,
)
from songsvc.records import Song, Stage, Status, StemName, Task
from songsvc.releases import CreditReleases
from songsvc.settings import WorkerSettings

log = structlog.get_logger()

JOBS = Counter(
    "neutone_worker_jobs_total",
    "Job attempts by how they ended: ready, failed, retried, unavailable, lost, stopped.",
    ["outcome"],
)
JOB_SECONDS = Histogram(
    "neutone_worker_job_seconds",
    "Time from claiming a job to its song being ready.",
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
IN_FLIGHT = Gauge("neutone_worker_jobs_in_flight", "Jobs this worker is running now.")
# The whole queue, which every worker reports alike (aggregate with max, not sum):
# what the workers' and Triton's autoscalers scale on.
QUEUE_JOBS = Gauge(
    "neutone_queue_jobs", "Generation jobs in the queue, by state: queued or running.", ["state"]
)
QUEUE_OLDEST_SECONDS = Gauge(
    "neutone_queue_oldest_queued_seconds",
    "How long the queued job that has waited longest has waited (0: none queued).",
)

# The first wait between tries at storing a file; it doubles each time.
UPLOAD_RETRY_SECONDS = 0.5
# Handing a job back while the database is away: tried again this often, for up to a
# third of the lease (the heartbeat no longer renews it), then left to the lease.
HANDBACK_RETRY_SECONDS = 0.5
PRINCIPAL = "songsvc-worker"


def _plan_values(song: Song, plan: Plan) -> dict[str, object]:
    """The song's columns the plan fills in; the owner's own title stays."""
    values: dict[str, object] = {
        "prompt_used": plan.prompt,
        "lyrics_used": plan.lyrics,
        "categories": plan.categories,
    }
    if not song.title_from_owner:
        values["title"] = plan.title
    return values


class LeaseLost(Exception):
    """Another worker owns the job now (or the song was deleted)."""


class StorageFailed(Exception):
    """The object store kept failing; the attempt counts."""


class SourceGone(Exception):
    """What the song is made from was deleted: no attempt can make it."""


class Worker:
    def __init__(
        self,
        *,
        settings: WorkerSettings,
        database: Database,
        models: ModelTier,
        objects: ObjectStore,
        credits: Credits,
        releases: CreditReleases,
        events: SongEvents,
    ) -> None:
        self._settings = settings
        self._db = database
        self._models = models
        self._objects = objects
        self._credits = credits
        self._releases = releases
        self._events = events
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._running: dict[UUID, tuple[Claim, asyncio.Task[None]]] = {}
        # Jobs the heartbeat found no longer ours, whose tasks it cancelled.
        self._lost: set[UUID] = set()
        # Beats each time the claim loop comes round: the liveness probe's signal.
        self.claim_loop = Heartbeat("claim_loop", max_age_seconds=settings.worker_liveness_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(self._renew_leases())
        try:
            async with self._events.watch_queue() as queued:
                while not stop.is_set():
                    queued.clear()
                    try:
                        await self._claim_more()
                    except Exception:  # the database away: a blip must not end the worker
                        log.exception("claiming jobs failed; trying again")
                    self.claim_loop.beat()
                    waiters = [
                        asyncio.create_task(queued.wait()),
                        asyncio.create_task(stop.wait()),
                    ]
                    waiters += [task for _, task in self._running.values()]
                    await asyncio.wait(
                        waiters,
                        timeout=self._settings.worker_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for waiter in waiters[:2]:
                        waiter.cancel()
        finally:
            # Draining may take the whole grace period: not a hang.
            self.claim_loop.stop()
            await self._drain()
            heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat

    async def _claim_more(self) -> None:
        free = self._settings.worker_concurrency - len(self._running)
        if free <= 0:
            return
        async with self._db.transaction() as db:
            claims = await jobs.claim(
                db,
                worker_id=self.worker_id,
                limit=free,
                lease_seconds=self._settings.job_lease_seconds,
            )
        for claim, song in claims:
            IN_FLIGHT.inc()
            task = asyncio.create_task(self._process(claim, song))
            task.add_done_callback(lambda _: IN_FLIGHT.dec())
            self._running[claim.song_id] = (claim, task)
            task.add_done_callback(lambda _, song_id=claim.song_id: self._forget(song_id))

    def _forget(self, song_id: UUID) -> None:
        self._running.pop(song_id, None)
        self._lost.discard(song_id)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._settings.job_lease_seconds / 3)
            held = [claim for claim, _ in self._running.values()]
            if not held:
                continue
            try:
                async with self._db.transaction() as db:
                    still_ours = await jobs.renew(
                        db, held, lease_seconds=self._settings.job_lease_seconds
                    )
            except Exception:  # a blip must not kill the heartbeat; the next try may work
                log.exception("renewing leases failed")
                continue
            for claim in held:
                if claim.song_id not in still_ours and claim.song_id in self._running:
                    log.warning("lease lost; abandoning job", song_id=str(claim.song_id))
                    self._lost.add(claim.song_id)
                    self._running[claim.song_id][1].cancel()

    async def _drain(self) -> None:
        """Lets running jobs finish within the grace period; hands the rest back."""
        tasks = [task for _, task in self._running.values()]
        if not tasks:
            return
        _, unfinished = await asyncio.wait(tasks, timeout=self._settings.shutdown_grace_seconds)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    # ---- one job -------------------------------------------------------------------

    async def _process(self, claim: Claim, song: Song) -> None:
        # A child of the CreateSong (or edit) that queued the job: one trace from the
        # browser's call to the finished song, Triton's inferences included.
        with tracer.start_as_current_span(
            "generate song",
            context=continued(claim.traceparent),
            kind=SpanKind.CONSUMER,
            attributes={"neutone.song_id": str(claim.song_id), "neutone.attempt": claim.attempt},
        ):
            try:
                await self._attempt(claim, song)
            except OperationalError:
                # Not even the hand-back reached the database: the lease runs out and
                # the job is claimed again once the database is back.
                log.exception("the database stayed away; the job waits for its lease")

    async def _attempt(self, claim: Claim, song: Song) -> None:
        structlog.contextvars.bind_contextvars(song_id=str(claim.song_id), attempt=claim.attempt)
        try:
            with JOB_SECONDS.time():
                await self._generate_in_time(claim, song)
        except LeaseLost:
            JOBS.labels("lost").inc()
            log.info("job no longer ours")
            await self._remove_orphans(claim)
        except asyncio.CancelledError:
            if claim.song_id in self._lost:
                JOBS.labels("lost").inc()
                await asyncio.shield(self._remove_orphans(claim))
            else:
                # Shutting down: hand the job back without using the attempt.
                JOBS.labels("stopped").inc()
                await asyncio.shield(self._retry(claim, "worker stopped", counts=False, delay=0))
            raise
        except ModelUnavailable as error:
            await self._dependency_down(claim, str(error))
        except OperationalError:  # the database away: as an outage, not the song's fault
            await self._dependency_down(claim, "the database is unavailable")
        except grpc.aio.AioRpcError as error:
            if error.code() not in TRANSIENT:
                raise
            await self._dependency_down(claim, f"billing: {error.details()}")
        except (ModelRefused, SourceGone) as error:
            await self._fail(claim, str(error))
        except (ModelError, StorageFailed) as error:
            await self._failed_attempt(claim, str(error))
        except Exception as error:
            log.exception("job failed")
            await self._failed_attempt(claim, f"internal error: {type(error).__name__}")

    async def _generate_in_time(self, claim: Claim, song: Song) -> None:
        """Generates the song, or fails it once its job's deadline has passed."""
        if claim.attempt > self._settings.job_max_attempts:
            # The previous attempts all ended with the worker dying mid-job.
            await self._fail(claim, f"gave up after {claim.attempt - 1} attempts")
            return
        if claim.seconds_left > 0:
            try:
                async with asyncio.timeout(claim.seconds_left) as deadline:
                    await self._generate(claim, song)
                return
            except TimeoutError:
                if not deadline.expired():
                    raise
        minutes = self._settings.job_deadline_seconds / 60
        await self._fail(claim, f"not finished within the {minutes:g}-minute limit")

    async def _generate(self, claim: Claim, song: Song) -> None:
        # Each stage is written while the work it announces runs, not before it:
        # a stage is progress for WatchSong, not worth waiting for. `both` lets
        # each write end before anything later is written about the job.
        plan_values: dict[str, object] = {}
        if song.prompt_used is None:
            _, plan = await both(self._stage(claim, Stage.PLANNING, 0.05), self._models.plan(song))
            plan_values = _plan_values(song, plan)
            song = dataclasses.replace(song, **plan_values)
        sources = await self._sources(song)
        # The plan is saved while the music is made, so a retried job reuses it.
        _, (tracks, cover) = await both(
            self._stage(claim, Stage.GENERATING, 0.2, **plan_values),
            both(self._compose(song, sources), self._models.paint(song)),
        )
        song_audio = tracks[None]
        # Once, here: browsers draw the waveform without decoding the audio.
        song_peaks = await asyncio.to_thread(audio.peaks, song_audio.data)

        async def announce_then_finish(db: AsyncConnection) -> bool:
            await self._stage(claim, Stage.UPLOADING, 0.9)
            return await jobs.finish(
                db,
                claim,
                JobState.SUCCEEDED,
                status=Status.READY,
                progress=1.0,
                audio_key=files.audio_key(song.id),
                cover_key=files.cover_key(song.id),
                audio_duration_seconds=song_audio.duration_seconds,
                stems=[stem for stem in tracks if stem is not None],
                peaks=song_peaks,
            )

        async def store_then_charge() -> None:
            await all_of(
                *(
                    self._store(files.audio_key(song.id, stem), track.data, "audio/flac")
                    for stem, track in tracks.items()
                ),
                self._store(files.cover_key(song.id), cover, "image/png"),
            )
            try:
                await self._credits.commit(song.id)
            except CreditReleased:  # the song was deleted (or failed) meanwhile
                raise LeaseLost from None

        # Two strands at once: UPLOADING is shown, then READY written; the files
        # are stored, then billing commits the credit. READY's transaction commits
        # only once both strands succeeded, so a song never shows READY unpaid or
        # without its files, and a crash before that commit only repeats
        # idempotent uploads and an idempotent credit commit.
        async with self._db.transaction() as db:
            ready, _ = await both(announce_then_finish(db), store_then_charge())
            if not ready:
                raise LeaseLost
        JOBS.labels("ready").inc()
        log.info("song ready")

    async def _compose(self, song: Song, sources: Sources) -> dict[StemName | None, Audio]:
        """The song's audio (key None) and, for a STEMS song, each stem's."""
        if song.task is not Task.STEMS:
            return {None: await self._models.compose(song, sources)}
        # The four requests reach Triton together, so one execution makes them all
        # (and the OTHER stem reuses the three named ones).
        made = await all_of(*(self._models.compose(song, sources, stem=stem) for stem in StemName))
        stems: dict[StemName | None, Audio] = dict(zip(StemName, made, strict=True))
        # What plays as the song is its stems added up: the source, as split.
        whole = await asyncio.to_thread(audio.mix, [stem.data for stem in made])
        stems[None] = Audio(data=whole, duration_seconds=made[0].duration_seconds)
        return stems

    async def _sources(self, song: Song) -> Sources:
        """The stored files the song is made from; SourceGone once one was deleted."""
        async with self._db.connection() as db:
            source_key = None
            if song.source_song_id is not None:
                source = await store.get_song(db, song.source_song_id)
                source_key = source.audio_key if source else None
                if source_key is None:
                    raise SourceGone("the source song was deleted")
            elif song.source_upload_id is not None:
                source_key = await uploads.object_key(db, song.source_upload_id)
                if source_key is None:
                    raise SourceGone("the uploaded source was deleted")
            reference_key = None
            if song.reference_upload_id is not None:
                reference_key = await uploads.object_key(db, song.reference_upload_id)
                if reference_key is None:
                    raise SourceGone("the uploaded style reference was deleted")
        try:
            return Sources(
                source=await self._objects.get(source_key) if source_key else b"",
                reference=await self._objects.get(reference_key) if reference_key else b"",
            )
        except FileNotFoundError as error:
            raise SourceGone("a source file is missing from the object store") from error

    async def _store(self, key: str, data: bytes, content_type: str) -> None:
        """Stores a file, trying again with backoff: the music is already made, and
        a store that blinked must not cost the attempt that made it."""
        try:
            async for attempt in tenacity.AsyncRetrying(
                stop=tenacity.stop_after_attempt(self._settings.upload_attempts),
                wait=tenacity.wait_exponential(multiplier=UPLOAD_RETRY_SECONDS, max=8),
                reraise=True,
            ):
                with attempt:
                    await self._objects.put(key, data, content_type=content_type)
        except Exception as error:
            raise StorageFailed(f"storing {key} failed: {type(error).__name__}") from error

    async def _stage(self, claim: Claim, stage: Stage, progress: float, **values: object) -> None:
        """Moves the song to `stage`, with any `values` found on the way."""
        async with self._db.transaction() as db:
            if not await jobs.set_stage(db, claim, stage, progress, **values):
                raise LeaseLost

    async def _dependency_down(self, claim: Claim, error: str) -> None:
        # Triton, billing or the database unreachable: wait and retry, never using up
        # attempts.
        JOBS.labels("unavailable").inc()
        log.warning("dependency unavailable; will retry", error=error)
        await self._retry(claim, error, counts=False, delay=self._backoff(claim))

    def _backoff(self, claim: Claim) -> float:
        exponential = self._settings.job_retry_base_seconds * 2 ** (claim.attempt - 1)
        return min(self._settings.job_retry_max_seconds, exponential)

    async def _retry(self, claim: Claim, error: str, *, counts: bool, delay: float) -> None:
        async for attempt in tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(OperationalError),
            stop=tenacity.stop_after_delay(self._settings.job_lease_seconds / 3),
            wait=tenacity.wait_exponential(multiplier=HANDBACK_RETRY_SECONDS, max=4),
            reraise=True,
        ):
            with attempt:
                async with self._db.transaction() as db:
                    await jobs.retry_later(
                        db, claim, delay_seconds=delay, error=error, counts=counts
                    )

    async def _failed_attempt(self, claim: Claim, reason: str) -> None:
        if claim.attempt >= self._settings.job_max_attempts:
            await self._fail(claim, reason)
        else:
            JOBS.labels("retried").inc()
            log.warning("attempt failed; will retry", reason=reason)
            await self._retry(claim, reason, counts=True, delay=self._backoff(claim))

    async def _fail(self, claim: Claim, reason: str) -> None:
        # The song fails and its credit goes back in one transaction, fenced like
        # every write about the job: a worker that lost the job can do neither.
        async with self._db.transaction() as db:
            failed = await jobs.finish(
                db, claim, JobState.FAILED, reason, status=Status.FAILED, failure_reason=reason
            )
            if failed:
                await releases.schedule(db, claim.song_id, reason)
        if not failed:
            log.info("job no longer ours; not failing it")
            return
        await self._releases.deliver(claim.song_id)
        JOBS.labels("failed").inc()
        log.warning("song failed", reason=reason)

    async def _remove_orphans(self, claim: Claim) -> None:
        """If the song was deleted while we worked, delete what we may have stored."""
        async with self._db.connection() as db:
            exists = await store.get_song(db, claim.song_id) is not None
        if not exists:
            await files.delete_all(self._objects, claim.song_id)


async def report_queue(database: Database, answered: Heartbeat) -> None:
    """Sets the queue's gauges; a read that succeeds shows the database answers."""
    async with database.connection() as db:
        depth = await jobs.queue_depth(db)
    QUEUE_JOBS.labels(JobState.QUEUED.value).set(depth.queued)
    QUEUE_JOBS.labels(JobState.RUNNING.value).set(depth.running)
    QUEUE_OLDEST_SECONDS.set(depth.oldest_queued_seconds)
    answered.beat()


async def main() -> None:
    settings = load_settings(WorkerSettings)
    configure_logging(service="songsvc-worker", level=settings.log_level, fmt=settings.log_format)
    configure_tracing("songsvc-worker")
    database = Database.open(settings)
    events = SongEvents(database_url(settings))
    events.start()
    billing = service_channel(
        settings.billingsvc_address,
        credentials=ServiceCredentials(load_issuer(settings, PRINCIPAL)),
    )
    models = TritonModels(settings.triton_url, timeout_seconds=settings.triton_timeout_seconds)
    credits = Credits(billing)
    worker = Worker(
        settings=settings,
        database=database,
        models=models,
        objects=open_object_store(settings.object_store, data_dir=settings.data_dir),
        credits=credits,
        releases=CreditReleases.from_settings(settings, database, credits),
        events=events,
    )
    database_answers = Heartbeat("database", max_age_seconds=3 * settings.queue_metrics_seconds)
    reporting = asyncio.create_task(
        repeat(
            settings.queue_metrics_seconds,
            lambda: report_queue(database, database_answers),
            what="queue metrics",
        )
    )
    if settings.metrics_port:
        # The worker serves no gRPC: its probes and metrics share this port.
        serve_probes(
            settings.metrics_port,
            Probes(liveness=[worker.claim_loop], readiness=[database_answers]),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("worker started", worker_id=worker.worker_id)
    try:
        await worker.run(stop)
    finally:
        reporting.cancel()
        await models.close()
        await events.stop()
        await billing.close()
        await database.close()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
