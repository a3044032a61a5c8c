"""Concurrent requests are really batched by Triton's dynamic batcher."""

import asyncio

import numpy as np
import tritonclient.grpc.aio as aioclient

from tests.integration.model_tier.conftest import ModelTier
from tests.integration.model_tier.helpers import song_inputs, tensor

MODELS = ("planner", "acestep", "cover")


async def statistics(client: aioclient.InferenceServerClient) -> dict[str, tuple[int, int]]:
    """(inferences, executions) so far for each model."""
    reply = await client.get_inference_statistics(as_json=True)
    counts = {}
    for model in reply["model_stats"]:
        counts[model["name"]] = (
            int(model.get("inference_count", 0)),
            int(model.get("execution_count", 0)),
        )
    return counts


async def settled_statistics(
    client: aioclient.InferenceServerClient, before: dict[str, tuple[int, int]], songs: int
) -> dict[str, tuple[int, int]]:
    """The statistics once every model has counted the songs: a composing model counts
    its execution after its reply, which may reach the client first."""
    for _ in range(50):
        after = await statistics(client)
        if all(after[model][0] - before[model][0] >= songs for model in MODELS):
            break
        await asyncio.sleep(0.1)
    return after


async def test_concurrent_songs_share_executions(model_tier: ModelTier) -> None:
    async with aioclient.InferenceServerClient(model_tier.grpc_url) as client:
        before = await statistics(client)
        songs = 8
        results = await asyncio.gather(
            *(
                client.infer(
                    "neutone_song",
                    song_inputs(
                        {
                            "MODE": "lyrics",
                            "PROMPT": f"pop song number {index}",
                            "LYRICS": "[verse]\nla la la",
                            "DURATION_SECONDS": 10.0,
                            "SEED": index,
                        }
                    ),
                )
                for index in range(songs)
            )
        )
        after = await settled_statistics(client, before, songs)
    assert len({result.as_numpy("AUDIO")[0, 0] for result in results}) == songs
    for model in MODELS:
        inferences = after[model][0] - before[model][0]
        executions = after[model][1] - before[model][1]
        assert inferences == songs, model
        assert executions < inferences, f"{model}: {executions} executions for {inferences}"


async def test_a_request_may_carry_several_rows(model_tier: ModelTier) -> None:
    async with aioclient.InferenceServerClient(model_tier.grpc_url) as client:
        result = await client.infer(
            "cover",
            [
                tensor("TITLE", np.array([[b"One"], [b"Two"]], dtype=np.object_)),
                tensor("PROMPT", np.array([[b"jazz"], [b"metal"]], dtype=np.object_)),
            ],
        )
    covers = result.as_numpy("COVER_PNG")
    assert covers.shape == (2, 1)
    assert covers[0, 0] != covers[1, 0]
