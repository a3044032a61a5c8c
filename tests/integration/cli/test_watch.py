"""`neutone watch` and `create --wait`: progress until the song is READY or FAILED,
through streams that end before the song does, and a song really generated (the
worker and tritonserver) then downloaded."""

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runtime.launcher import Stack, free_address
from tests.integration.cli.conftest import Neutone
from tests.integration.helpers import insert_song, make_ready

# The private songsvc's stream lifetime, short enough to end several streams per test.
WATCH_MAX_SECONDS = 1


def finished(process: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def test_watch_shows_progress_until_the_song_is_ready(
    neutone: Neutone, new_user, database_url
) -> None:
    user = new_user()
    neutone.signed_in(user)
    song_id = insert_song(database_url, user.id)
    watching = neutone.popen("watch", song_id)
    assert watching.stdout is not None
    first = watching.stdout.readline()  # not a terminal: one line per change
    assert "0% queued" in first
    make_ready(database_url, song_id, ["pop"])
    status, stdout, stderr = finished(watching)
    assert status == 0, stderr
    assert stdout.splitlines()[-1] == f"{song_id} : ready"
    # Once it is done, --json prints the last state alone.
    document = neutone.json("watch", song_id)
    assert document["song"]["status"] == "SONG_STATUS_READY"
    assert document["queue_position"] == 0


def test_a_failed_song_fails_the_watch_with_its_reason(
    neutone: Neutone, new_user, database_url
) -> None:
    user = new_user()
    neutone.signed_in(user)
    song_id = insert_song(database_url, user.id)
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET status = 'failed', failure_reason = 'the model tier gave up'"
            " WHERE id = %s",
            (song_id,),
        )
    ran = neutone("watch", song_id, "--json")
    assert ran.status == 1
    assert json.loads(ran.stdout)["song"]["status"] == "SONG_STATUS_FAILED"
    assert json.loads(ran.stderr) == {"message": f"song {song_id} failed: the model tier gave up"}


@pytest.fixture(scope="module")
def short_streams_songsvc(
    stack: Stack, songsvc_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second songsvc process whose WatchSong streams end after a second."""
    stack.ensure_started("billingsvc")
    short = Stack(
        {**stack.env, "NEUTONE_SONGSVC_ADDRESS": free_address()},
        log_dir=tmp_path_factory.mktemp("short-streams-songsvc"),
    )
    short.start(
        "songsvc",
        extra_env={**songsvc_env, "NEUTONE_WATCH_MAX_SECONDS": str(WATCH_MAX_SECONDS)},
    )
    try:
        yield short.address("songsvc")
    finally:
        short.stop_all()


def test_watch_reconnects_when_a_stream_ends_before_the_song(
    make_neutone, new_user, database_url, short_streams_songsvc: str
) -> None:
    user = new_user()
    neutone: Neutone = make_neutone(NEUTONE_SONGSVC_ADDRESS=short_streams_songsvc)
    neutone.signed_in(user)
    song_id = insert_song(database_url, user.id)
    watching = neutone.popen("watch", song_id, "--json")
    time.sleep(WATCH_MAX_SECONDS * 3)
    assert watching.poll() is None, "the watch ended with its first stream"
    make_ready(database_url, song_id, ["pop"])
    status, stdout, stderr = finished(watching)
    assert status == 0, stderr
    assert json.loads(stdout)["song"]["status"] == "SONG_STATUS_READY"


def test_a_generated_song_is_waited_for_and_downloaded(
    neutone: Neutone, new_user, worker: None
) -> None:
    neutone.signed_in(new_user())
    ran = neutone(
        "create", "--description", "a short calm piano piece", "--duration", "10", "--wait"
    )
    assert ran.status == 0, ran.stderr
    created, *progress, done = ran.stdout.splitlines()
    song_id = created.removeprefix("created ")
    stages = {line.split()[2] for line in progress}
    assert {"generating", "uploading"} <= stages, progress
    assert done.startswith(song_id) and done.endswith(": ready")

    saved = neutone.json("download", song_id)
    assert Path(neutone.home, saved["audio_path"]).read_bytes()[:4] == b"fLaC"
    assert Path(neutone.home, saved["cover_path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
