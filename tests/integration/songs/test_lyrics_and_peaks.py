"""SuggestLyrics against the real planner in tritonserver, and the waveform peaks
the worker keeps with every song it makes (derived songs too)."""

import grpc
import httpx
import numpy as np
import pytest

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from songsvc import audio
from tests.integration.helpers import error_reason, field_violations, insert_song
from tests.integration.songs.test_api import balance
from tests.integration.songs.test_edits import ready


@pytest.fixture
def planner(triton_url: str) -> None:
    """The model tier, running, for songsvc's SuggestLyrics."""


def suggest(songs, user, **fields) -> pb.SuggestLyricsResponse:
    return songs.SuggestLyrics(pb.SuggestLyricsRequest(**fields), metadata=user.metadata)


def test_suggested_lyrics_are_free_and_follow_the_seed(
    songs, planner, new_user, billing_channel
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    described = suggest(songs, user, description="a road trip at dawn", seed=11)
    assert described.lyrics and described.title and described.prompt
    styled = suggest(
        songs, user, description="a road trip at dawn", prompt="warm acoustic folk", seed=11
    )
    assert styled.prompt == "warm acoustic folk" and styled.lyrics
    again = suggest(
        songs, user, description="a road trip at dawn", prompt="warm acoustic folk", seed=11
    )
    assert (again.lyrics, again.title) == (styled.lyrics, styled.title)
    # Nothing was charged or made.
    assert balance(billing_channel, user) == before
    assert not songs.ListMySongs(pb.ListMySongsRequest(), metadata=user.metadata).songs


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({}, "description", "required"),
        ({"description": "x" * 1001}, "description", "at most 1000"),
        ({"description": "rain", "prompt": "y" * 1001}, "prompt", "at most 1000"),
        ({"description": "rain", "duration_seconds": 5}, "duration_seconds", "between 10 and 240"),
        ({"description": "rain", "seed": -1}, "seed", "between 0 and"),
    ],
)
def test_bad_lyrics_requests_name_the_field_and_limit(
    songs, new_user, fields, field, words
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        suggest(songs, new_user(), **fields)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in field_violations(error.value)[field]


def test_lyrics_suggestions_need_an_account_and_are_rate_limited(songs, planner, new_user) -> None:
    with pytest.raises(grpc.RpcError) as error:
        songs.SuggestLyrics(pb.SuggestLyricsRequest(description="rain"))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    user = new_user()
    for _ in range(DEFAULT_SUGGESTIONS_PER_MINUTE):
        suggest(songs, user, description="rain on the roof")
    with pytest.raises(grpc.RpcError) as error:
        suggest(songs, user, description="rain on the roof")
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error.value) == "LYRICS_SUGGESTIONS_RATE_LIMITED"


# songsvc's default (NEUTONE_LYRICS_SUGGESTIONS_PER_MINUTE).
DEFAULT_SUGGESTIONS_PER_MINUTE = 5


def test_without_the_model_tier_a_suggestion_is_unavailable_and_costs_no_try(
    tuned_songs, new_user
) -> None:
    user = new_user()
    # More tries than the limit: each failed one was given back.
    for _ in range(DEFAULT_SUGGESTIONS_PER_MINUTE + 2):
        with pytest.raises(grpc.RpcError) as error:
            suggest(tuned_songs, user, description="rain on the roof")
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(error.value) == "MODEL_UNAVAILABLE"


def peaks_of(songs, user, song_id: str) -> bytes:
    return songs.GetSongMedia(pb.GetSongMediaRequest(song_id=song_id), metadata=user.metadata).peaks


def test_made_and_derived_songs_carry_the_peaks_of_their_audio(
    songs, worker, new_user, buy_credits, database_url
) -> None:
    user = new_user()
    buy_credits(user)
    params = song_pb2.GenerationParams(duration_seconds=10, inference_steps=2, seed=3)
    source_id = songs.CreateSong(
        pb.CreateSongRequest(description="a calm piano piece", params=params),
        metadata=user.metadata,
    ).song.id
    ready(songs, user, source_id)
    repainted = songs.RepaintSong(
        pb.RepaintSongRequest(
            source=song_pb2.SongSource(song_id=source_id),
            start_seconds=2,
            end_seconds=5,
            params=song_pb2.GenerationParams(inference_steps=2, seed=4),
        ),
        metadata=user.metadata,
    ).song.id
    ready(songs, user, repainted)
    for song_id in (source_id, repainted):
        media = songs.GetSongMedia(pb.GetSongMediaRequest(song_id=song_id), metadata=user.metadata)
        master = httpx.get(media.audio_url, timeout=30)
        master.raise_for_status()
        assert media.peaks == audio.peaks(master.content)
        levels = np.frombuffer(media.peaks, dtype=np.int8).reshape(audio.PEAK_BUCKETS, 2)
        assert (levels[:, 0] <= levels[:, 1]).all() and np.abs(levels).max() > 0
    # A song made before peaks were kept has none; the browser draws it otherwise.
    legacy = insert_song(database_url, user.id, ready=True)
    assert peaks_of(songs, user, legacy) == b""
