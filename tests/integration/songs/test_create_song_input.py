"""Property-based: whatever CreateSong is sent, it never fails with INTERNAL,
and a refused request writes nothing (no song, no charge)."""

import grpc
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb

texts = st.one_of(
    st.just(""),
    st.text(max_size=60),
    st.text(alphabet="ab \n\x00", min_size=990, max_size=1010),
    st.text(alphabet="xy", min_size=3990, max_size=4010),
)
floats = st.one_of(
    st.sampled_from([0.0, 5.0, 10.0, 240.0, 241.0, -1.0, 1.0, 15.0, 15.5]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
)
requests = st.builds(
    lambda mode, a, b, instrumental, duration, guidance, steps, seed, key: pb.CreateSongRequest(
        **(
            {"description": a}
            if mode == "description"
            else {"described_lyrics": pb.DescribedLyrics(prompt=a, lyrics_description=b)}
            if mode == "described_lyrics"
            else {"custom_lyrics": pb.CustomLyrics(prompt=a, lyrics=b)}
            if mode == "custom_lyrics"
            else {}
        ),
        instrumental=instrumental,
        params=song_pb2.GenerationParams(
            duration_seconds=duration, guidance_scale=guidance, inference_steps=steps, seed=seed
        ),
        idempotency_key=key,
    ),
    mode=st.sampled_from(["description", "described_lyrics", "custom_lyrics", None]),
    a=texts,
    b=texts,
    instrumental=st.booleans(),
    duration=floats,
    guidance=floats,
    steps=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    seed=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    key=st.one_of(st.just(""), st.text(max_size=70)),
)


def _counts(database_url: str, user_id: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as db:
        songs = db.execute(
            "SELECT count(*) FROM songs.songs WHERE owner_id = %s", (user_id,)
        ).fetchone()[0]
        charges = db.execute(
            "SELECT count(*) FROM billing.reservations WHERE account_id = %s", (user_id,)
        ).fetchone()[0]
    return songs, charges


def test_create_song_never_fails_internally_and_refusals_write_nothing(
    songs, new_user, database_url
) -> None:
    user = new_user()

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(request=requests)
    def check(request: pb.CreateSongRequest) -> None:
        before = _counts(database_url, user.id)
        try:
            songs.CreateSong(request, metadata=user.metadata)
        except grpc.RpcError as error:
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.FAILED_PRECONDITION,  # valid, but the credits ran out
            ), (error.code(), error.details())
            assert _counts(database_url, user.id) == before
        else:
            # One new song with one charge, or (a repeated idempotency key) neither.
            assert _counts(database_url, user.id) in (before, (before[0] + 1, before[1] + 1))

    check()
