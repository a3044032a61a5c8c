"""Edits made for real: songsvc, the worker and Triton's acestep (tiny models) make
extensions, repaints, covers and stems, charged once each, and the audio says they did
what was asked."""

import io

import httpx
import numpy as np
import psycopg
import soundfile

from engines.music import CROSSFADE_SECONDS
from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.integration.helpers import field_violations, make_ready
from tests.integration.songs.test_api import balance
from tests.integration.songs.test_generation import wait_for_status
from tests.integration.songs.test_song_work import audio, refused, upload

FAST = song_pb2.GenerationParams(inference_steps=2, seed=5)


def ready(songs, user, song_id: str) -> song_pb2.Song:
    song = wait_for_status(songs, user, [song_id])[song_id]
    assert song.status == song_pb2.SONG_STATUS_READY, song.failure_reason
    return song


def master(songs, user, song_id: str, stem: int = 0) -> tuple[np.ndarray, int]:
    """The song's (or stem's) FLAC master, decoded: (channels, frames), rate."""
    reply = songs.GetSongDownload(
        pb.GetSongDownloadRequest(song_id=song_id, stem=stem), metadata=user.metadata
    )
    fetched = httpx.get(reply.url, timeout=30)
    assert fetched.status_code == 200
    samples, rate = soundfile.read(io.BytesIO(fetched.content), dtype="float32", always_2d=True)
    return samples.T, rate


def outside(frames: int, rate: int, start: float, end: float) -> np.ndarray:
    """The frames outside [start, end) and the crossfades beside it."""
    margin = round(CROSSFADE_SECONDS * rate)
    keep = np.ones(frames, dtype=bool)
    keep[max(0, round(start * rate) - margin) : round(end * rate) + margin] = False
    return np.flatnonzero(keep)


def test_extend_repaint_cover_and_stems_of_a_song(
    songs, worker, new_user, billing_channel, buy_credits
) -> None:
    user = new_user()
    buy_credits(user)
    source_id = songs.CreateSong(
        pb.CreateSongRequest(
            custom_lyrics=pb.CustomLyrics(prompt="lofi piano", lyrics="[verse]\nrain on glass"),
            params=song_pb2.GenerationParams(duration_seconds=10, inference_steps=2, seed=3),
        ),
        metadata=user.metadata,
    ).song.id
    ready(songs, user, source_id)
    before = balance(billing_channel, user)
    source, rate = master(songs, user, source_id)
    on_song = song_pb2.SongSource(song_id=source_id)

    extended = songs.ExtendSong(
        pb.ExtendSongRequest(
            source=on_song, extension_seconds=10, lyrics="[chorus]\nstill raining", params=FAST
        ),
        metadata=user.metadata,
    ).song
    repainted = songs.RepaintSong(
        pb.RepaintSongRequest(source=on_song, start_seconds=3, end_seconds=6, params=FAST),
        metadata=user.metadata,
    ).song
    covered = songs.CoverSong(
        pb.CoverSongRequest(source=on_song, prompt="brass band", strength=0.7, params=FAST),
        metadata=user.metadata,
    ).song
    split = songs.SeparateStems(
        pb.SeparateStemsRequest(source=on_song), metadata=user.metadata
    ).song

    extended = ready(songs, user, extended.id)
    # The model sang the whole song's lyrics, the kept part's first.
    assert extended.lyrics_used == "[verse]\nrain on glass\n\n[chorus]\nstill raining"
    audio_of, _ = master(songs, user, extended.id)
    assert audio_of.shape[1] == 2 * source.shape[1]
    kept = outside(source.shape[1], rate, 10, 20)
    np.testing.assert_allclose(audio_of[:, kept], source[:, kept], atol=1e-4)
    assert np.abs(audio_of[:, source.shape[1] :]).max() > 0.01

    repainted = ready(songs, user, repainted.id)
    lineage = repainted.lineage
    assert (lineage.task, lineage.source_song_id) == (song_pb2.SONG_TASK_REPAINT, source_id)
    assert (lineage.section_start_seconds, lineage.section_end_seconds) == (3, 6)
    audio_of, _ = master(songs, user, repainted.id)
    assert audio_of.shape == source.shape
    kept = outside(source.shape[1], rate, 3, 6)
    np.testing.assert_allclose(audio_of[:, kept], source[:, kept], atol=1e-4)
    inside = slice(3 * rate, 6 * rate)
    assert np.abs(audio_of[:, inside] - source[:, inside]).mean() > 0.005

    covered = ready(songs, user, covered.id)
    audio_of, _ = master(songs, user, covered.id)
    assert audio_of.shape == source.shape
    assert np.abs(audio_of - source).mean() > 0.005

    split = ready(songs, user, split.id)
    assert list(split.stems) == [
        song_pb2.STEM_VOCALS,
        song_pb2.STEM_DRUMS,
        song_pb2.STEM_BASS,
        song_pb2.STEM_OTHER,
    ]
    stems = [master(songs, user, split.id, stem)[0] for stem in split.stems]
    whole, _ = master(songs, user, split.id)
    # Each stem is 16-bit on its own: their sum is the whole within a few steps.
    np.testing.assert_allclose(sum(stems), whole, atol=1e-3)
    np.testing.assert_allclose(whole, source, atol=1e-3)

    derived = songs.ListDerivedSongs(
        pb.ListDerivedSongsRequest(song_id=source_id), metadata=user.metadata
    ).songs
    assert {song.id for song in derived} == {extended.id, repainted.id, covered.id, split.id}
    # One credit for each of the four, charged once.
    assert balance(billing_channel, user) == before - 4


def test_an_upload_is_covered_and_lends_its_style(songs, worker, new_user) -> None:
    user = new_user()
    # 44.1 kHz WAV: the model tier resamples it to the model's rate.
    created, posted = upload(songs, user, audio(4, rate=44100))
    assert posted.status_code in (200, 201, 204), posted.text
    songs.CompleteUpload(
        pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=user.metadata
    )
    from_upload = song_pb2.SongSource(upload_id=created.upload.id)
    # An upload has no style prompt to keep: an extension of it must say one.
    error = refused(
        lambda: songs.ExtendSong(
            pb.ExtendSongRequest(source=from_upload, extension_seconds=10), metadata=user.metadata
        )
    )
    assert "prompt" in field_violations(error)
    covered = songs.CoverSong(
        pb.CoverSongRequest(
            source=from_upload,
            prompt="synthwave",
            controls=song_pb2.MusicalControls(bpm=100, key_scale="a minor"),
            params=FAST,
        ),
        metadata=user.metadata,
    ).song
    styled = songs.CreateSong(
        pb.CreateSongRequest(
            description="in the style of my tune",
            reference_upload_id=created.upload.id,
            params=song_pb2.GenerationParams(duration_seconds=10, inference_steps=2),
        ),
        metadata=user.metadata,
    ).song
    covered = ready(songs, user, covered.id)
    assert covered.audio_duration_seconds == 4
    assert (covered.controls.bpm, covered.controls.key_scale) == (100, "A minor")
    ready(songs, user, styled.id)


def test_a_missing_source_fails_the_edit_and_gives_the_credit_back(
    songs, worker, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    source = songs.CreateSong(
        pb.CreateSongRequest(description="never stored"), metadata=user.metadata
    ).song
    # READY in the database, but its audio never reached the store.
    make_ready(database_url, source.id, ["pop"])
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET audio_duration_seconds = 10, prompt_used = 'pop' WHERE id = %s",
            (source.id,),
        )
    before = balance(billing_channel, user)
    edit = songs.RepaintSong(
        pb.RepaintSongRequest(
            source=song_pb2.SongSource(song_id=source.id), start_seconds=1, end_seconds=3
        ),
        metadata=user.metadata,
    ).song
    failed = wait_for_status(songs, user, [edit.id])[edit.id]
    assert failed.status == song_pb2.SONG_STATUS_FAILED
    assert "source" in failed.failure_reason
    assert balance(billing_channel, user) == before


def test_takes_of_one_request_are_different_songs(songs, worker, new_user) -> None:
    user = new_user()
    takes = songs.CreateSong(
        pb.CreateSongRequest(
            custom_lyrics=pb.CustomLyrics(prompt="lofi piano", lyrics="[verse]\nrain on glass"),
            takes=2,
            params=song_pb2.GenerationParams(duration_seconds=10, inference_steps=2, seed=11),
        ),
        metadata=user.metadata,
    ).songs
    first, second = (master(songs, user, ready(songs, user, take.id).id)[0] for take in takes)
    # Same request, own seeds: the same length, other music.
    assert first.shape == second.shape
    assert np.abs(first - second).mean() > 0.005
