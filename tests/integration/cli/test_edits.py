"""Working on a song through `neutone`: takes, extend, repaint, cover and stems
queued from a song or an upload, refusals naming the field, the songs made from
one, and downloads in each format under the song's title."""

import psycopg
import soundfile

from tests.integration.cli.conftest import Neutone
from tests.integration.cli.test_songs import ready_song
from tests.integration.conftest import BUCKET
from tests.integration.songs.test_song_work import audio


def a_real_song(database_url: str, s3_client, owner_id: str, *, title: str) -> str:
    """A READY song of `owner_id` whose master is 12 s of real FLAC."""
    song_id, _ = ready_song(database_url, s3_client, owner_id, "jazz")
    s3_client.put_object(
        Bucket=BUCKET,
        Key=f"songs/{song_id}/audio.flac",
        Body=audio(12, file_format="FLAC"),
        ContentType="audio/flac",
    )
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET title = %s, audio_duration_seconds = 12, prompt = 'jazz'"
            " WHERE id = %s",
            (title, song_id),
        )
    return song_id


def test_edits_of_a_song_and_of_an_upload(make_neutone, new_user, database_url, s3_client) -> None:
    owner_user = new_user()
    owner: Neutone = make_neutone().signed_in(owner_user)
    song_id = a_real_song(database_url, s3_client, owner_user.id, title="Night Drive")

    extended = owner.json("extend", song_id, "--seconds", "10", "--lyrics", "[verse]\nmore")
    extended = extended["song"]
    assert extended["status"] == "SONG_STATUS_QUEUED"
    assert extended["lineage"]["task"] == "SONG_TASK_EXTEND"
    assert extended["lineage"]["source_song_id"] == song_id
    assert extended["params"]["duration_seconds"] == 22.0
    assert f"extend of {song_id} (12-22 s)" in owner.ok("get", extended["id"])

    # A section past the source's end names its field, and costs nothing.
    failure = owner("repaint", song_id, "--start", "5", "--end", "40", "--json").failure()
    assert failure["code"] == "INVALID_ARGUMENT"
    assert "end_seconds" in {violation["field"] for violation in failure["field_violations"]}

    (owner.home / "take.wav").write_bytes(audio(11))
    uploaded = owner.json("upload", "take.wav")["upload"]
    assert uploaded["status"] == "UPLOAD_STATUS_READY"
    assert 10.9 < uploaded["duration_seconds"] < 11.1
    cover = owner.json("cover", "--upload", uploaded["id"], "--prompt", "bossa nova")["song"]
    assert cover["lineage"]["source_upload_id"] == uploaded["id"]

    (owner.home / "notes.wav").write_text("not audio at all")
    ran = owner("upload", "notes.wav")
    assert ran.status == 1 and "INVALID_ARGUMENT" in ran.stderr and "file" in ran.stderr

    # Two of the welcome credits went on the extension and the cover: two takes
    # need two, so neither is made.
    failure = owner("create", "--description", "two takes", "--takes", "2", "--json").failure()
    assert failure["reason"] == "INSUFFICIENT_CREDITS"
    derived = owner.json("derived", song_id)["songs"]
    assert [song["id"] for song in derived] == [extended["id"]]


def test_two_takes_are_two_songs(make_neutone, new_user) -> None:
    neutone: Neutone = make_neutone().signed_in(new_user())
    ran = neutone.json("create", "--description", "rain", "--takes", "2", "--bpm", "96")
    assert [song["take"] for song in ran["songs"]] == [1, 2]
    assert {song["controls"]["bpm"] for song in ran["songs"]} == {96}
    failure = neutone("create", "--description", "rain", "--bpm", "999", "--json").failure()
    assert "controls.bpm" in {violation["field"] for violation in failure["field_violations"]}


def test_downloads_in_each_format_take_the_title(
    make_neutone, new_user, database_url, s3_client
) -> None:
    owner_user = new_user()
    owner: Neutone = make_neutone().signed_in(owner_user)
    song_id = a_real_song(database_url, s3_client, owner_user.id, title="Night Drive")
    for audio_format in ("flac", "wav", "mp3"):
        saved = owner.json("download", song_id, "--format", audio_format, "--out", "songs")
        assert saved == {
            "song_id": song_id,
            "audio_path": f"songs/Night Drive.{audio_format}",
            "cover_path": "songs/Night Drive.png",
        }
        info = soundfile.info(owner.home / saved["audio_path"])
        assert info.format == audio_format.upper() and 11.9 < info.duration < 12.2
    failure = owner("download", song_id, "--stem", "vocals", "--json").failure()
    assert failure["code"] == "FAILED_PRECONDITION"
