"""Working on songs through the real songsvc and billingsvc, with boto3 against a
real S3-compatible server: takes, musical controls, uploads, downloads, sources
and lineage. (The generation of edits is in test_edits.py.)"""

import io
import uuid
from collections.abc import Callable

import grpc
import httpx
import numpy as np
import psycopg
import pytest
import soundfile
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import song_pb2, upload_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.integration.conftest import BUCKET
from tests.integration.helpers import error_reason, field_violations, make_ready
from tests.integration.songs.test_api import balance

SAMPLE_RATE = 16000


def audio(seconds: float, *, file_format: str = "WAV", rate: int = SAMPLE_RATE) -> bytes:
    frames = int(seconds * rate)
    tone = 0.2 * np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, frames, dtype=np.float32))
    out = io.BytesIO()
    soundfile.write(out, np.stack([tone, tone], axis=1), rate, format=file_format)
    return out.getvalue()


def refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def upload(songs, user, data: bytes, *, name: str = "take.wav", content_type: str = "audio/wav"):
    """Creates an upload and posts the file as a browser would; the upload."""
    created = songs.CreateUpload(
        pb.CreateUploadRequest(filename=name, size_bytes=len(data), content_type=content_type),
        metadata=user.metadata,
    )
    posted = httpx.post(
        created.upload_url,
        data=dict(created.form_fields),
        files={"file": (name, data, content_type)},
        timeout=30,
    )
    return created, posted


def test_takes_are_songs_of_their_own_reserved_all_or_none(
    songs, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    request = pb.CreateSongRequest(
        description="three ways", takes=3, params=song_pb2.GenerationParams(seed=41)
    )
    reply = songs.CreateSong(request, metadata=user.metadata)
    assert [song.take for song in reply.songs] == [1, 2, 3]
    assert [song.params.seed for song in reply.songs] == [41, 42, 43]
    assert reply.song.id == reply.songs[0].id
    assert len({song.id for song in reply.songs}) == 3
    assert balance(billing_channel, user) == 0

    poorer = new_user()
    songs.CreateSong(pb.CreateSongRequest(description="one"), metadata=poorer.metadata)
    error = refused(lambda: songs.CreateSong(request, metadata=poorer.metadata))
    assert error_reason(error) == "INSUFFICIENT_CREDITS"
    assert balance(billing_channel, poorer) == 2
    with psycopg.connect(database_url) as db:
        made = db.execute(
            "SELECT count(*) FROM songs.songs WHERE owner_id = %s", (poorer.id,)
        ).fetchone()[0]
    assert made == 1
    error = refused(
        lambda: songs.CreateSong(
            pb.CreateSongRequest(description="too many", takes=5), metadata=poorer.metadata
        )
    )
    assert field_violations(error) == {"takes": "must be between 1 and 4"}


def test_a_retried_request_with_takes_returns_the_same_takes(songs, new_user) -> None:
    user = new_user()
    request = pb.CreateSongRequest(description="retried takes", takes=2, idempotency_key="t2")
    first = songs.CreateSong(request, metadata=user.metadata)
    again = songs.CreateSong(request, metadata=user.metadata)
    assert [song.id for song in again.songs] == [song.id for song in first.songs]


def test_musical_controls_are_checked_and_kept_in_their_canonical_form(songs, new_user) -> None:
    user = new_user()
    error = refused(
        lambda: songs.CreateSong(
            pb.CreateSongRequest(
                description="bad controls",
                controls=song_pb2.MusicalControls(
                    bpm=301, key_scale="H major", time_signature=5, vocal_language="klingon"
                ),
            ),
            metadata=user.metadata,
        )
    )
    violations = field_violations(error)
    assert set(violations) == {
        "controls.bpm",
        "controls.key_scale",
        "controls.time_signature",
        "controls.vocal_language",
    }
    assert violations["controls.bpm"] == "must be between 30 and 300"
    song = songs.CreateSong(
        pb.CreateSongRequest(
            description="good controls",
            controls=song_pb2.MusicalControls(
                bpm=96, key_scale="g♭ Minor", time_signature=3, vocal_language="JA"
            ),
        ),
        metadata=user.metadata,
    ).song
    assert song.controls == song_pb2.MusicalControls(
        bpm=96, key_scale="F# minor", time_signature=3, vocal_language="ja"
    )


def test_an_upload_is_posted_checked_and_usable(songs, new_user, s3_client) -> None:
    user = new_user()
    created, posted = upload(songs, user, audio(12))
    assert posted.status_code in (200, 204), posted.text
    assert created.upload.status == upload_pb2.UPLOAD_STATUS_PENDING
    done = songs.CompleteUpload(
        pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=user.metadata
    ).upload
    assert done.duration_seconds == pytest.approx(12, abs=0.01)
    assert done.size_bytes > 0
    # Complete once, complete again: the same READY upload.
    assert (
        songs.CompleteUpload(
            pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=user.metadata
        ).upload
        == done
    )
    # Nobody else can see or use it.
    stranger = new_user()
    error = refused(
        lambda: songs.CompleteUpload(
            pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=stranger.metadata
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not audio at all " * 100, "is not audio"),
        (audio(601, rate=8000), "at most 600 s"),
        (audio(2, file_format="AIFF"), "only WAV, FLAC, MP3 and OGG"),
    ],
    ids=["not audio", "too long", "another format"],
)
def test_a_bad_upload_is_refused_with_its_reason_and_leaves_nothing(
    songs, new_user, database_url, s3_client, data: bytes, why: str | None
) -> None:
    user = new_user()
    created, posted = upload(songs, user, data)
    assert posted.status_code in (200, 204), posted.text
    error = refused(
        lambda: songs.CompleteUpload(
            pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=user.metadata
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert why in field_violations(error)["file"]
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT count(*) FROM songs.uploads WHERE id = %s", (created.upload.id,)
        ).fetchone()[0]
    assert rows == 0
    listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"uploads/{created.upload.id}/")
    assert listed.get("KeyCount", 0) == 0


def test_upload_limits_are_checked_before_anything_is_posted(songs, new_user) -> None:
    user = new_user()
    error = refused(
        lambda: songs.CreateUpload(
            pb.CreateUploadRequest(
                filename="", size_bytes=60 * 1024 * 1024, content_type="video/mp4"
            ),
            metadata=user.metadata,
        )
    )
    assert set(field_violations(error)) == {"filename", "size_bytes", "content_type"}
    # More than was declared: S3 refuses it (the policy's content-length-range;
    # moto does not check that), and CompleteUpload refuses it whatever the store did.
    created = songs.CreateUpload(
        pb.CreateUploadRequest(filename="take.wav", size_bytes=1000, content_type="audio/wav"),
        metadata=user.metadata,
    )
    httpx.post(
        created.upload_url,
        data=dict(created.form_fields),
        files={"file": ("take.wav", audio(4), "audio/wav")},
        timeout=30,
    )
    error = refused(
        lambda: songs.CompleteUpload(
            pb.CompleteUploadRequest(upload_id=created.upload.id), metadata=user.metadata
        )
    )
    assert "more than the 1000 declared" in field_violations(error)["file"]


def test_a_download_is_made_once_in_each_format_and_named_after_the_song(
    songs, new_user, database_url, s3_client
) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(description="to download"), metadata=user.metadata
    ).song
    make_ready(database_url, song.id, ["pop"])
    s3_client.put_object(
        Bucket=BUCKET, Key=f"songs/{song.id}/audio.flac", Body=audio(3, file_format="FLAC")
    )
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song.id, title="Neon / Rain?"),
            update_mask=FieldMask(paths=["title"]),
        ),
        metadata=user.metadata,
    )
    for audio_format, extension, decoded_as in (
        (pb.AUDIO_FORMAT_MP3, "mp3", "MP3"),
        (pb.AUDIO_FORMAT_WAV, "wav", "WAV"),
        (pb.AUDIO_FORMAT_UNSPECIFIED, "flac", "FLAC"),
    ):
        reply = songs.GetSongDownload(
            pb.GetSongDownloadRequest(song_id=song.id, format=audio_format), metadata=user.metadata
        )
        assert reply.filename == f"Neon Rain.{extension}"
        fetched = httpx.get(reply.url, timeout=30)
        assert fetched.status_code == 200
        assert "attachment" in fetched.headers["content-disposition"]
        info = soundfile.info(io.BytesIO(fetched.content))
        assert info.format == decoded_as
        assert info.duration == pytest.approx(3, abs=0.1)
    keys = {
        item["Key"]
        for item in s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"songs/{song.id}/")["Contents"]
    }
    assert keys == {f"songs/{song.id}/audio.{ext}" for ext in ("flac", "mp3", "wav")}
    error = refused(
        lambda: songs.GetSongDownload(
            pb.GetSongDownloadRequest(song_id=song.id, stem=song_pb2.STEM_VOCALS),
            metadata=user.metadata,
        )
    )
    assert error_reason(error) == "NO_SUCH_STEM"


def test_sources_must_be_yours_ready_and_covers_allowed(songs, new_user, database_url) -> None:
    owner, other = new_user(), new_user()
    private = songs.CreateSong(
        pb.CreateSongRequest(description="private"), metadata=owner.metadata
    ).song
    source = song_pb2.SongSource(song_id=private.id)
    # Not ready yet.
    error = refused(
        lambda: songs.RepaintSong(
            pb.RepaintSongRequest(source=source, start_seconds=1, end_seconds=3),
            metadata=owner.metadata,
        )
    )
    assert error_reason(error) == "NOT_READY"
    make_ready(database_url, private.id, ["pop"])
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET audio_duration_seconds = 30, prompt_used = 'pop' WHERE id = %s",
            (private.id,),
        )
    # Another person's private song is not even there.
    error = refused(
        lambda: songs.CoverSong(
            pb.CoverSongRequest(source=source, prompt="jazz"), metadata=other.metadata
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    # Published, it can be covered, but not extended, by others...
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=private.id, published=True),
            update_mask=FieldMask(paths=["published"]),
        ),
        metadata=owner.metadata,
    )
    error = refused(
        lambda: songs.ExtendSong(
            pb.ExtendSongRequest(source=source, extension_seconds=20), metadata=other.metadata
        )
    )
    assert error_reason(error) == "NOT_YOUR_SONG"
    cover = songs.CoverSong(
        pb.CoverSongRequest(source=source, prompt="jazz"), metadata=other.metadata
    ).song
    assert cover.lineage.task == song_pb2.SONG_TASK_COVER
    assert cover.lineage.source_song_id == private.id
    # ...until the owner forbids covers.
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=private.id, remix_allowed=False),
            update_mask=FieldMask(paths=["remix_allowed"]),
        ),
        metadata=owner.metadata,
    )
    error = refused(
        lambda: songs.CoverSong(
            pb.CoverSongRequest(source=source, prompt="metal"), metadata=other.metadata
        )
    )
    assert error_reason(error) == "REMIX_NOT_ALLOWED"
    # Sections must lie within the source, and extensions keep songs within 10 minutes.
    error = refused(
        lambda: songs.RepaintSong(
            pb.RepaintSongRequest(source=source, start_seconds=10, end_seconds=40),
            metadata=owner.metadata,
        )
    )
    assert "end_seconds" in field_violations(error)
    error = refused(
        lambda: songs.RepaintSong(
            pb.RepaintSongRequest(source=source, start_seconds=10, end_seconds=10.5),
            metadata=owner.metadata,
        )
    )
    assert field_violations(error) == {"end_seconds": "must be at least 1 s after start_seconds"}
    derived = songs.ListDerivedSongs(
        pb.ListDerivedSongsRequest(song_id=private.id), metadata=owner.metadata
    ).songs
    assert [song.id for song in derived] == []  # the cover is the other person's, and private
    extended = songs.ExtendSong(
        pb.ExtendSongRequest(source=source, extension_seconds=20, lyrics="[verse]\nmore"),
        metadata=owner.metadata,
    ).song
    assert extended.params.duration_seconds == 50
    assert (extended.lineage.section_start_seconds, extended.lineage.section_end_seconds) == (
        30,
        50,
    )
    derived = songs.ListDerivedSongs(
        pb.ListDerivedSongsRequest(song_id=private.id), metadata=owner.metadata
    ).songs
    assert [song.id for song in derived] == [extended.id]


def test_stems_need_a_base_checkpoint(tuned_songs, new_user) -> None:
    user = new_user()
    error = refused(
        lambda: tuned_songs.SeparateStems(
            pb.SeparateStemsRequest(source=song_pb2.SongSource(song_id=str(uuid.uuid4()))),
            metadata=user.metadata,
        )
    )
    assert error_reason(error) == "STEMS_UNSUPPORTED"


def test_a_turbo_checkpoint_takes_at_most_its_steps_and_nothing_is_charged(
    tuned_songs, new_user, database_url
) -> None:
    user = new_user()
    too_many = song_pb2.GenerationParams(inference_steps=9)
    for call in (
        lambda: tuned_songs.CreateSong(
            pb.CreateSongRequest(description="a song", params=too_many), metadata=user.metadata
        ),
        lambda: tuned_songs.ExtendSong(
            pb.ExtendSongRequest(
                source=song_pb2.SongSource(song_id=str(uuid.uuid4())),
                extension_seconds=10,
                params=too_many,
            ),
            metadata=user.metadata,
        ),
    ):
        error = refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        violation = field_violations(error)["params.inference_steps"]
        assert violation.startswith("must be at most 8 (got 9)")
    with psycopg.connect(database_url) as db:
        assert db.execute(
            "SELECT count(*) FROM songs.songs WHERE owner_id = %s", (user.id,)
        ).fetchone() == (0,)
