"""Bad requests fail alone with an error that names the input; the server keeps serving."""

import asyncio

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as aioclient

from engines import limits
from tests.integration.model_tier.conftest import ModelTier
from tests.integration.model_tier.helpers import song_inputs, tensor

GOOD = {"MODE": "lyrics", "PROMPT": "rock", "LYRICS": "[verse]\nyeah", "DURATION_SECONDS": 10.0}


def replaced(name: str, value: object, datatype: str | None = None) -> list[grpcclient.InferInput]:
    inputs = [tensor(n, v) for n, v in GOOD.items() if n != name]
    return [*inputs, tensor(name, value, datatype)]


BAD_REQUESTS = {
    "wrong type": (replaced("DURATION_SECONDS", 30.0, "FP64"), "DURATION_SECONDS"),
    "wrong shape": (
        replaced("PROMPT", np.array([[b"rock", b"pop"]], dtype=np.object_)),
        "PROMPT",
    ),
    "empty prompt": (replaced("PROMPT", "   "), "PROMPT"),
    "unknown mode": (replaced("MODE", "karaoke"), "MODE"),
    "short song": (replaced("DURATION_SECONDS", 9.0), "DURATION_SECONDS"),
    "long song": (replaced("DURATION_SECONDS", 241.0), "DURATION_SECONDS"),
    "no steps": (replaced("INFERENCE_STEPS", 0), "INFERENCE_STEPS"),
    "too many steps": (
        replaced("INFERENCE_STEPS", limits.MAX_INFERENCE_STEPS + 1),
        "INFERENCE_STEPS",
    ),
    "guidance": (replaced("GUIDANCE_SCALE", 100.0), "GUIDANCE_SCALE"),
    "negative seed": (replaced("SEED", -1), "SEED"),
    "oversized lyrics": (replaced("LYRICS", "la " * 2000), "LYRICS"),
    "not utf-8": (replaced("LYRICS", b"\xff\xfe"), "LYRICS"),
    "missing mode": ([tensor("PROMPT", "rock")], "MODE"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_rejected_naming_it(
    case: str, client: grpcclient.InferenceServerClient
) -> None:
    inputs, input_name = BAD_REQUESTS[case]
    with pytest.raises(grpcclient.InferenceServerException) as raised:
        client.infer("neutone_song", inputs)
    assert input_name in raised.value.message()
    assert raised.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert client.is_server_ready()


async def test_a_bad_request_in_a_batch_fails_alone(model_tier: ModelTier) -> None:
    async with aioclient.InferenceServerClient(model_tier.grpc_url) as client:
        requests = [song_inputs({**GOOD, "SEED": seed}) for seed in range(3)]
        requests.insert(1, song_inputs({**GOOD, "DURATION_SECONDS": 500.0}))
        results = await asyncio.gather(
            *(client.infer("neutone_song", inputs) for inputs in requests),
            return_exceptions=True,
        )
        assert isinstance(results[1], aioclient.InferenceServerException)
        assert "DURATION_SECONDS" in results[1].message()
        for result in (results[0], *results[2:]):
            assert result.as_numpy("AUDIO")[0, 0]
        # And the instance still serves afterwards.
        again = await client.infer("neutone_song", song_inputs(GOOD))
        assert again.as_numpy("AUDIO")[0, 0]
