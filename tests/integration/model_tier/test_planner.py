"""The planner on tritonserver: lyrics follow the song's duration and seed, batched or not."""

import asyncio

import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as aioclient

from tests.integration.model_tier.conftest import ModelTier
from tests.integration.model_tier.helpers import Value, song_inputs

# The worker's planner request: every input on every request, as Triton batches only
# requests that send the same inputs.
DESCRIBED_LYRICS: dict[str, Value] = {
    "MODE": "described_lyrics",
    "DESCRIPTION": "",
    "PROMPT": "upbeat pop, synth, 120 bpm",
    "LYRICS": "a road trip with friends",
    "INSTRUMENTAL": False,
    "DURATION_SECONDS": 30.0,
    "SEED": 5,
}


def lyrics(result: grpcclient.InferResult) -> str:
    return result.as_numpy("LYRICS_USED")[0, 0].decode()


def plan(client: grpcclient.InferenceServerClient, **changes: Value) -> str:
    return lyrics(client.infer("planner", song_inputs({**DESCRIBED_LYRICS, **changes})))


def test_same_seed_same_lyrics_other_seed_other_lyrics(
    client: grpcclient.InferenceServerClient,
) -> None:
    first = plan(client, SEED=5)
    assert plan(client, SEED=5) == first
    assert plan(client, SEED=6) != first
    assert first.startswith("[verse]\n")


def test_longer_songs_get_longer_lyrics(client: grpcclient.InferenceServerClient) -> None:
    # The tiny random model rarely ends a text itself, so each length is its token budget:
    # 36 tokens for 10 s, 360 for 120 s (12 per line and tag of the lyrics' shape).
    short, long = plan(client, DURATION_SECONDS=10.0), plan(client, DURATION_SECONDS=120.0)
    assert len(long) > 4 * len(short)


async def test_a_song_keeps_its_lyrics_in_a_shared_batch(
    model_tier: ModelTier, client: grpcclient.InferenceServerClient
) -> None:
    alone = plan(client, SEED=11)
    async with aioclient.InferenceServerClient(model_tier.grpc_url) as aio:
        results = await asyncio.gather(
            *(
                aio.infer("planner", song_inputs({**DESCRIBED_LYRICS, "SEED": seed}))
                for seed in (11, 12, 11, 13)
            )
        )
    texts = [lyrics(result) for result in results]
    assert texts[0] == texts[2] == alone
    assert len(set(texts)) == 3


def test_the_ensemble_tells_the_planner_the_duration_and_seed(
    client: grpcclient.InferenceServerClient,
) -> None:
    def song_lyrics(seconds: float, seed: int) -> str:
        request = {**DESCRIBED_LYRICS, "DURATION_SECONDS": seconds, "SEED": seed}
        del request["DESCRIPTION"]
        return lyrics(client.infer("neutone_song", song_inputs(request)))

    short = song_lyrics(10.0, 1)
    assert short == plan(client, DURATION_SECONDS=10.0, SEED=1)
    assert len(song_lyrics(60.0, 1)) > 2 * len(short)


@pytest.mark.parametrize(
    ("name", "value"), [("DURATION_SECONDS", 5.0), ("DURATION_SECONDS", 241.0), ("SEED", -1)]
)
def test_a_bad_duration_or_seed_is_refused_naming_it(
    name: str, value: Value, client: grpcclient.InferenceServerClient
) -> None:
    with pytest.raises(grpcclient.InferenceServerException) as raised:
        plan(client, **{name: value})
    assert raised.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert raised.value.message().startswith(f"{name}: must be between")
