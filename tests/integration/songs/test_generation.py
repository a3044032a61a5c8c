"""The generation pipeline end to end: songsvc, its worker, billingsvc, a real
tritonserver with the tiny models, and boto3 against a real S3-compatible server."""

import io
import time

import grpc
import httpx
import psycopg
import pytest
import soundfile
from PIL import Image

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from runtime.launcher import Stack
from tests.integration.conftest import BUCKET
from tests.integration.helpers import eventually
from tests.integration.songs.test_api import balance

MODES = {
    "description": {"description": "a bright summer pop song about the sea"},
    "described_lyrics": {
        "described_lyrics": pb.DescribedLyrics(
            prompt="warm acoustic folk", lyrics_description="leaving home at dawn"
        )
    },
    "custom_lyrics": {
        "custom_lyrics": pb.CustomLyrics(
            prompt="dark synthwave", lyrics="[verse]\nneon on the water\n[chorus]\nwe run"
        )
    },
}
PARAMS = song_pb2.GenerationParams(duration_seconds=10, inference_steps=2)


def watch_until_done(songs, user, song_id: str, timeout: float = 180) -> list:
    updates = list(
        songs.WatchSong(
            pb.WatchSongRequest(song_id=song_id), metadata=user.metadata, timeout=timeout
        )
    )
    assert updates, "WatchSong sent nothing"
    return updates


def wait_for_status(
    songs, user, song_ids: list[str], timeout: float = 240
) -> dict[str, song_pb2.Song]:
    deadline = time.monotonic() + timeout
    while True:
        found = {
            song_id: songs.GetSong(pb.GetSongRequest(song_id=song_id), metadata=user.metadata).song
            for song_id in song_ids
        }
        terminal = (song_pb2.SONG_STATUS_READY, song_pb2.SONG_STATUS_FAILED)
        if all(song.status in terminal for song in found.values()):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError({s: song_pb2.SongStatus.Name(x.status) for s, x in found.items()})
        time.sleep(0.5)


def charges(database_url: str, song_id: str) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT kind, amount FROM billing.entries WHERE song_id = %s ORDER BY id", (song_id,)
        ).fetchall()


def stored_keys(s3_client, prefix: str = "songs/") -> set[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("instrumental", [False, True], ids=["vocal", "instrumental"])
def test_a_song_becomes_ready_with_playable_media_and_one_charge(
    songs, worker, new_user, billing_channel, database_url, mode, instrumental
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES[mode], instrumental=instrumental, params=PARAMS),
        metadata=user.metadata,
    ).song

    updates = watch_until_done(songs, user, song.id)
    final = updates[-1].song
    assert final.status == song_pb2.SONG_STATUS_READY, final.failure_reason
    stages = {update.song.stage for update in updates}
    assert song_pb2.GENERATION_STAGE_DONE in stages
    assert final.title and final.prompt_used and 1 <= len(final.categories) <= 3
    assert (final.lyrics_used == "[instrumental]") if instrumental else final.lyrics_used
    if mode == "custom_lyrics" and not instrumental:
        assert "neon on the water" in final.lyrics_used

    media = songs.GetSongMedia(pb.GetSongMediaRequest(song_id=song.id), metadata=user.metadata)
    audio = httpx.get(media.audio_url, timeout=30)
    audio.raise_for_status()
    samples, sample_rate = soundfile.read(io.BytesIO(audio.content))
    assert abs(len(samples) / sample_rate - 10) <= 0.5
    cover = httpx.get(media.cover_url, timeout=30)
    cover.raise_for_status()
    assert Image.open(io.BytesIO(cover.content)).format == "PNG"

    assert balance(billing_channel, user) == before - 1
    assert charges(database_url, song.id) == [("song_charge", -1)]


def test_watch_song_reports_stages_in_order(songs, worker, new_user) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song
    stages = [update.song.stage for update in watch_until_done(songs, user, song.id)]
    order = [
        song_pb2.GENERATION_STAGE_QUEUED,
        song_pb2.GENERATION_STAGE_PLANNING,
        song_pb2.GENERATION_STAGE_GENERATING,
        song_pb2.GENERATION_STAGE_UPLOADING,
        song_pb2.GENERATION_STAGE_DONE,
    ]
    assert [order.index(stage) for stage in stages] == sorted(order.index(s) for s in stages)
    assert stages[-1] == song_pb2.GENERATION_STAGE_DONE


def test_songs_wait_while_triton_is_down_and_finish_after(
    songs, worker, stack: Stack, new_user, database_url
) -> None:
    user = new_user()
    stack.stop("triton")
    try:
        song = songs.CreateSong(
            pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
        ).song
        time.sleep(4)  # several retries' worth
        waiting = songs.GetSong(pb.GetSongRequest(song_id=song.id), metadata=user.metadata).song
        assert waiting.status in (song_pb2.SONG_STATUS_QUEUED, song_pb2.SONG_STATUS_PROCESSING)
    finally:
        stack.start("triton")
    final = wait_for_status(songs, user, [song.id])[song.id]
    assert final.status == song_pb2.SONG_STATUS_READY, final.failure_reason
    assert charges(database_url, song.id) == [("song_charge", -1)]


def test_a_song_the_models_refuse_fails_with_a_reason_and_its_credit_back(
    songs, stack: Stack, worker_env, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    # Stop the worker, so the song can be corrupted before any worker sees it: the
    # model tier must refuse it (its limits guard the models whatever reaches them).
    stack.ensure_started("songsvc-worker", extra_env=worker_env)
    stack.stop("songsvc-worker")
    try:
        song = songs.CreateSong(
            pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
        ).song
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute("UPDATE songs.songs SET duration_seconds = 9999 WHERE id = %s", (song.id,))
        stack.start("songsvc-worker", extra_env={**worker_env, "NEUTONE_JOB_MAX_ATTEMPTS": "2"})
        final = wait_for_status(songs, user, [song.id])[song.id]
    finally:
        stack.stop("songsvc-worker")
        stack.start("songsvc-worker", extra_env=worker_env)
    assert final.status == song_pb2.SONG_STATUS_FAILED
    assert "DURATION_SECONDS" in final.failure_reason
    eventually(lambda: balance(billing_channel, user) == before, what="the refund")
    assert charges(database_url, song.id) == [("song_charge", -1), ("song_refund", 1)]


def test_deleting_a_ready_song_removes_its_media(songs, worker, new_user, s3_client) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song
    assert watch_until_done(songs, user, song.id)[-1].song.status == song_pb2.SONG_STATUS_READY
    assert stored_keys(s3_client, f"songs/{song.id}/")
    songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
    assert stored_keys(s3_client, f"songs/{song.id}/") == set()
    with pytest.raises(grpc.RpcError) as gone:
        songs.GetSongMedia(pb.GetSongMediaRequest(song_id=song.id), metadata=user.metadata)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


def test_deleting_a_song_while_it_is_made_gives_the_credit_back_and_stores_nothing(
    songs, worker, worker_env, new_user, billing_channel, database_url, s3_client
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song
    for update in songs.WatchSong(
        pb.WatchSongRequest(song_id=song.id), metadata=user.metadata, timeout=120
    ):
        if update.song.stage == song_pb2.GENERATION_STAGE_PLANNING:
            break
    abandoned_before = jobs_ended(worker_env, "lost")  # the worker is surely up by now
    songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)

    assert balance(billing_channel, user) == before
    assert charges(database_url, song.id) == [("song_charge", -1), ("song_refund", 1)]
    # The worker finds the song gone at its next write and abandons the job.
    deadline = time.monotonic() + 60
    while jobs_ended(worker_env, "lost") == abandoned_before:
        assert time.monotonic() < deadline, "the worker never abandoned the deleted song's job"
        time.sleep(0.2)
    assert stored_keys(s3_client, f"songs/{song.id}/") == set()
    assert charges(database_url, song.id) == [("song_charge", -1), ("song_refund", 1)]


def jobs_ended(worker_env: dict[str, str], outcome: str) -> float:
    """The worker's count of job attempts that ended with `outcome`."""
    metrics = httpx.get(f"http://127.0.0.1:{worker_env['NEUTONE_METRICS_PORT']}/metrics").text
    prefix = f'neutone_worker_jobs_total{{outcome="{outcome}"}}'
    return next(
        (float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(prefix)),
        0.0,
    )


def test_worker_reports_its_jobs_as_metrics(songs, worker, worker_env, new_user) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song
    assert watch_until_done(songs, user, song.id)[-1].song.status == song_pb2.SONG_STATUS_READY
    assert jobs_ended(worker_env, "ready") >= 1
    metrics = httpx.get(f"http://127.0.0.1:{worker_env['NEUTONE_METRICS_PORT']}/metrics").text
    assert "neutone_worker_job_seconds_count" in metrics
