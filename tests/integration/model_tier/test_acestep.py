"""The acestep model served by tritonserver: songs of different lengths in one batch, and a
turbo checkpoint (steps limited, guidance ignored)."""

import asyncio
import io
from collections.abc import Iterator, Mapping

import numpy as np
import pytest
import soundfile
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as aioclient

from tests.integration.model_tier.conftest import ModelTier
from tests.integration.model_tier.helpers import DTYPES, NUMPY, Value, song_inputs, tensor

SONG = {"PROMPT": "lo-fi piano", "LYRICS": "[verse]\nla la", "SEED": 5}


def rows_inputs(rows: list[Mapping[str, Value]]) -> list[grpcclient.InferInput]:
    """One request carrying several songs (rows): Triton runs them in one execution."""
    inputs = []
    for name in rows[0]:
        values = [row[name] for row in rows]
        values = [value.encode() if isinstance(value, str) else value for value in values]
        dtype = NUMPY[DTYPES[name]]
        inputs.append(tensor(name, np.array([[value] for value in values], dtype=dtype)))
    return inputs


def songs_of(result: grpcclient.InferResult) -> list[tuple[np.ndarray, int]]:
    return [
        soundfile.read(io.BytesIO(audio), dtype="float32")
        for audio in result.as_numpy("AUDIO")[:, 0]
    ]


@pytest.fixture(scope="module")
def turbo_client(turbo_model_tier: ModelTier) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(turbo_model_tier.grpc_url) as client:
        yield client


def test_songs_of_different_lengths_share_a_batch_and_keep_their_length(
    client: grpcclient.InferenceServerClient,
) -> None:
    short = {**SONG, "DURATION_SECONDS": 10.0}
    longer = {**SONG, "DURATION_SECONDS": 20.0, "SEED": 6}
    (long_song, rate), (short_song, _) = songs_of(
        client.infer("acestep", rows_inputs([longer, short]))
    )
    assert (len(long_song), len(short_song)) == (20 * rate, 10 * rate)
    ((alone, _),) = songs_of(client.infer("acestep", rows_inputs([short])))
    # One 16-bit step apart at most: the same song, whichever song shared its batch.
    np.testing.assert_allclose(short_song, alone, atol=2 / 2**15)


def test_turbo_refuses_more_steps_naming_the_input_and_the_limit(
    turbo_client: grpcclient.InferenceServerClient,
) -> None:
    too_many = rows_inputs([{**SONG, "DURATION_SECONDS": 10.0, "INFERENCE_STEPS": 9}])
    with pytest.raises(grpcclient.InferenceServerException) as refused:
        turbo_client.infer("acestep", too_many)
    assert refused.value.status() == "StatusCode.INVALID_ARGUMENT"
    message = refused.value.message()
    assert "INFERENCE_STEPS: must be at most 8 (got 9): turbo checkpoint" in message
    # Through the ensemble too, as the song worker asks, which fails the song for good.
    song = {"MODE": "lyrics", "PROMPT": "rock", "LYRICS": "[verse]\nyeah"}
    with pytest.raises(grpcclient.InferenceServerException) as refused:
        turbo_client.infer("neutone_song", song_inputs({**song, "INFERENCE_STEPS": 100}))
    assert refused.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "INFERENCE_STEPS: must be at most 8 (got 100)" in refused.value.message()
    assert turbo_client.is_server_ready()


async def test_on_turbo_a_refused_song_fails_alone_and_mixed_lengths_batch(
    turbo_model_tier: ModelTier,
) -> None:
    rows = [
        {**SONG, "DURATION_SECONDS": 12.5, "INFERENCE_STEPS": 8},
        {**SONG, "DURATION_SECONDS": 10.0, "INFERENCE_STEPS": 50},
        {**SONG, "DURATION_SECONDS": 24.0, "INFERENCE_STEPS": 8},
    ]
    async with aioclient.InferenceServerClient(turbo_model_tier.grpc_url) as client:
        results = await asyncio.gather(
            *(client.infer("acestep", rows_inputs([row])) for row in rows),
            return_exceptions=True,
        )
    assert isinstance(results[1], aioclient.InferenceServerException)
    assert "INFERENCE_STEPS" in results[1].message()
    for row, result in zip(rows[::2], results[::2], strict=True):
        assert not isinstance(result, BaseException), result
        ((song, rate),) = songs_of(result)
        assert len(song) == round(row["DURATION_SECONDS"] * rate)


def test_turbo_ignores_guidance(turbo_client: grpcclient.InferenceServerClient) -> None:
    songs = [
        turbo_client.infer(
            "acestep", rows_inputs([{**SONG, "DURATION_SECONDS": 10.0, "GUIDANCE_SCALE": scale}])
        ).as_numpy("AUDIO")[0, 0]
        for scale in (1.0, 7.0)
    ]
    assert songs[0] == songs[1]
