"""Jobs always end: a model that times out uses up attempts, a job past its
deadline fails with its credit back, and a store that keeps failing costs an
attempt without the music being made again for every try. Real worker, Triton,
songsvc and billingsvc processes."""

import time

import psycopg
import tritonclient.grpc as triton

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from runtime.launcher import Stack, free_address
from tests.integration.helpers import eventually
from tests.integration.songs.test_api import balance
from tests.integration.songs.test_generation import (
    MODES,
    PARAMS,
    charges,
    wait_for_status,
    watch_until_done,
)


def inference_count(triton_url: str, model: str) -> int:
    with triton.InferenceServerClient(triton_url) as client:
        stats = client.get_inference_statistics(model, as_json=True)
    return int(stats["model_stats"][0].get("inference_count", 0))


def refunded(billing_channel, user, before: int, database_url: str, song_id: str) -> None:
    """The failed song's credit comes back (delivered right after FAILED is written)."""
    eventually(lambda: balance(billing_channel, user) == before, what="the refund")
    assert charges(database_url, song_id) == [("song_charge", -1), ("song_refund", 1)]


def create(songs, user) -> str:
    return songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song.id


def test_a_model_that_times_out_uses_up_the_attempts_and_the_song_fails(
    songs, restart_worker, new_user, billing_channel, database_url, triton_url
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    restart_worker(NEUTONE_TRITON_TIMEOUT_SECONDS="0.001", NEUTONE_JOB_MAX_ATTEMPTS="2")
    song_id = create(songs, user)
    updates = watch_until_done(songs, user, song_id, timeout=120)
    final = updates[-1].song
    assert final.status == song_pb2.SONG_STATUS_FAILED
    assert "did not answer within" in final.failure_reason
    refunded(billing_channel, user, before, database_url, song_id)


def test_a_job_past_its_deadline_fails_with_its_credit_back(
    songs, worker, stack: Stack, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    stack.stop("triton")
    try:
        song_id = create(songs, user)
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute(
                "UPDATE songs.jobs SET deadline_time = now() + interval '3 seconds'"
                " WHERE song_id = %s",
                (song_id,),
            )
        # Triton stays down: without a deadline the job would wait for it forever.
        final = wait_for_status(songs, user, [song_id], timeout=60)[song_id]
    finally:
        stack.start("triton")
    assert final.status == song_pb2.SONG_STATUS_FAILED
    assert "minute limit" in final.failure_reason
    refunded(billing_channel, user, before, database_url, song_id)


def test_a_store_that_keeps_failing_costs_attempts_not_music_per_try(
    songs, restart_worker, new_user, billing_channel, database_url, triton_url
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    restart_worker(
        # Nothing listens there.
        NEUTONE_OBJECT_STORE__S3_ENDPOINT_URL=f"http://{free_address()}",
        NEUTONE_JOB_MAX_ATTEMPTS="2",
        NEUTONE_UPLOAD_ATTEMPTS="3",
    )
    made_before = inference_count(triton_url, "acestep")
    song_id = create(songs, user)
    final = wait_for_status(songs, user, [song_id], timeout=180)[song_id]
    assert final.status == song_pb2.SONG_STATUS_FAILED
    assert f"storing songs/{song_id}/" in final.failure_reason
    # One piece of music per attempt, however many tries at storing it.
    time.sleep(0.5)  # Triton's statistics lag its replies a little
    assert inference_count(triton_url, "acestep") - made_before == 2
    refunded(billing_channel, user, before, database_url, song_id)
