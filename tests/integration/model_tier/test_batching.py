"""Concurrent requests are really batched by Triton's dynamic batcher."""

import asyncio
import time
from collections.abc import Awaitable, Callable

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
    client: aioclient.InferenceServerClient,
    before: dict[str, tuple[int, int]],
    songs: int,
    models: tuple[str, ...] = MODELS,
) -> dict[str, tuple[int, int]]:
    """The statistics once every one of `models` has counted the songs: a model counts
    its execution after its reply, which may reach the client first."""
    for _ in range(50):
        after = await statistics(client)
        if all(after[model][0] - before[model][0] >= songs for model in models):
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


async def test_a_short_song_is_answered_before_a_longer_one_of_its_execution(
    model_tier: ModelTier, figures: Callable[[str], None]
) -> None:
    """Songs of one execution diffuse shortest canvas first, and each is answered as soon
    as it is done: a 10 s song does not wait for the 60 s song it was batched with."""

    def song(seconds: float) -> list[aioclient.InferInput]:
        return song_inputs(
            {"PROMPT": "lo-fi piano", "LYRICS": "", "DURATION_SECONDS": seconds, "SEED": 1}
        )

    async def answered_at(request: Awaitable[object]) -> float:
        await request
        return time.monotonic()

    async with aioclient.InferenceServerClient(model_tier.grpc_url) as client:
        before = await statistics(client)
        # A first song keeps the instance busy while the long song and then the short one
        # queue behind it; the dynamic batcher hands those two to one execution.
        sent_at = time.monotonic()
        first = asyncio.create_task(answered_at(client.infer("acestep", song(240.0))))
        await asyncio.sleep(0.5)
        long_song = asyncio.create_task(answered_at(client.infer("acestep", song(60.0))))
        await asyncio.sleep(0.05)
        short_song = asyncio.create_task(answered_at(client.infer("acestep", song(10.0))))
        first_at, long_at, short_at = await asyncio.gather(first, long_song, short_song)
        after = await settled_statistics(client, before, 3, models=("acestep",))
    (inferences, executions), (earlier_inferences, earlier_executions) = (
        after["acestep"],
        before["acestep"],
    )
    counts = (inferences - earlier_inferences, executions - earlier_executions)
    assert counts == (3, 2), f"the two songs did not share an execution: {counts}"
    # The long song's own diffusion ran after the short one was answered.
    shared = long_at - first_at
    figure = f"acestep: after a 240 s song ({first_at - sent_at:.2f} s), one execution of a "
    figure += f"60 s and a 10 s song took {shared:.2f} s; the 10 s one was answered after "
    figure += f"{short_at - first_at:.2f} s, {long_at - short_at:.2f} s before the 60 s one"
    figures(figure)
    assert short_at < long_at - 0.25 * shared, figure
