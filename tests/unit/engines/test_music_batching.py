"""Songs of different lengths batched by duration bucket, long songs decoded in windows, and
turbo checkpoints (guidance ignored, steps limited), on the tiny models."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AceStepPipeline

from engines.limits import InvalidInputError
from engines.music import MusicGenerator, MusicSettings, configure_vae_tiling
from engines.schema import MusicRequest


@pytest.fixture(scope="module")
def generator(tiny_models: Path) -> MusicGenerator:
    return MusicGenerator.from_pretrained(tiny_models / "acestep")


@pytest.fixture(scope="module")
def turbo(tiny_models: Path) -> MusicGenerator:
    return MusicGenerator.from_pretrained(tiny_models / "acestep-turbo")


@pytest.fixture
def diffusion_batches(generator: MusicGenerator) -> Iterator[list[int]]:
    """The batch size of every diffusion run the generator starts."""
    sizes: list[int] = []
    diffuse = generator._diffuse

    def counted(batch, seconds):  # type: ignore[no-untyped-def]
        sizes.append(len(batch))
        return diffuse(batch, seconds)

    generator._diffuse = counted  # type: ignore[method-assign]
    yield sizes
    del generator._diffuse


def test_songs_of_different_lengths_share_a_bucket_and_keep_their_length(
    generator: MusicGenerator, diffusion_batches: list[int]
) -> None:
    short = MusicRequest(prompt="jazz", duration_seconds=10, seed=7)
    longer = MusicRequest(prompt="jazz", duration_seconds=20, seed=8)
    assert generator.group_key(short) == generator.group_key(longer)
    together = generator.generate([longer, short])
    assert diffusion_batches == [2]
    rate = generator.sample_rate
    assert [len(song) for song in together] == [20 * rate, 10 * rate]
    # A song is its bucket's canvas cut to its length, whichever songs share the batch.
    alone = generator.generate([short])[0]
    np.testing.assert_allclose(together[1], alone, atol=1e-4)
    assert np.abs(together[0][: len(alone)] - alone).mean() > 0.01


def test_buckets_are_run_shortest_first_and_longer_songs_keep_their_own_length(
    generator: MusicGenerator,
) -> None:
    settings = MusicSettings(duration_buckets=(15.0,))
    bucketed = MusicGenerator(generator.pipeline, settings)
    long = MusicRequest(prompt="rock", duration_seconds=20.5)
    short = MusicRequest(prompt="rock", duration_seconds=12)
    assert bucketed.group_key(long)[1] == 20.5  # past the last edge: its own length
    assert bucketed.group_key(short)[1] == 15.0
    order = [index for index, _ in bucketed.stream([long, short])]
    assert order == [1, 0]


def test_each_prompt_states_its_own_duration(
    generator: MusicGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    stated: list[tuple[str, float]] = []
    format_prompt = AceStepPipeline._format_prompt

    def recorded(self, **kwargs):  # type: ignore[no-untyped-def]
        stated.append((kwargs["prompt"], kwargs["audio_duration"]))
        return format_prompt(self, **kwargs)

    monkeypatch.setattr(AceStepPipeline, "_format_prompt", recorded)
    generator.generate(
        [
            MusicRequest(prompt="a", duration_seconds=10, inference_steps=1),
            MusicRequest(prompt="b", duration_seconds=25.5, inference_steps=1),
        ]
    )
    assert sorted(stated) == [("a", 10.0), ("b", 25.5)]


def test_windowed_decoding_matches_one_pass(generator: MusicGenerator) -> None:
    vae = generator.pipeline.vae
    assert vae.use_tiling  # MusicSettings' default: 30 s windows, 2 s of context
    torch.manual_seed(0)
    seconds = 100
    latents = torch.randn(1, vae.config.decoder_input_channels, 25 * seconds)
    with torch.inference_mode():
        windowed = vae.decode(latents).sample
        vae.disable_tiling()
        try:
            one_pass = vae.decode(latents).sample
        finally:
            vae.enable_tiling()
    assert windowed.shape == one_pass.shape == (1, 2, seconds * generator.sample_rate)
    peak = one_pass.abs().max()
    assert (windowed - one_pass).abs().max() <= 1e-4 * peak


def test_a_long_song_decodes_in_windows_to_its_exact_length(generator: MusicGenerator) -> None:
    request = MusicRequest(prompt="ambient", duration_seconds=61.3, inference_steps=1, seed=3)
    windowed = generator.generate([request])[0]
    one_pass = MusicGenerator(generator.pipeline, MusicSettings(vae_tile_seconds=None))
    try:
        whole = one_pass.generate([request])[0]
    finally:
        configure_vae_tiling(generator.pipeline.vae, generator.settings)
    assert windowed.shape == whole.shape == (round(61.3 * generator.sample_rate), 2)
    np.testing.assert_allclose(windowed, whole, atol=1e-4)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"decode_batch_size": "0"}, "decode_batch_size must be at least 1"),
        ({"duration_buckets": "60,30"}, "duration_buckets must be positive and ascending"),
        ({"duration_buckets": "0,30"}, "duration_buckets must be positive and ascending"),
        ({"vae_tile_seconds": "4", "vae_tile_overlap_seconds": "2"}, "more than twice"),
        ({"vae_tile_overlap_seconds": "-1"}, "must not be negative"),
        ({"turbo_max_inference_steps": "0"}, "turbo_max_inference_steps must be at least 1"),
    ],
)
def test_bad_settings_are_refused(parameters: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MusicSettings.from_parameters(parameters)


def test_settings_come_from_the_config_parameters() -> None:
    settings = MusicSettings.from_parameters(
        {
            "weights_dir": "/models/acestep",
            "decode_batch_size": "4",
            "duration_buckets": "20, 40",
            "vae_tile_seconds": "0",
            "turbo_max_inference_steps": "4",
        }
    )
    assert settings == MusicSettings(
        decode_batch_size=4,
        duration_buckets=(20.0, 40.0),
        vae_tile_seconds=None,
        turbo_max_inference_steps=4,
    )
    assert MusicSettings.from_parameters({"duration_buckets": ""}).duration_buckets == ()
    assert MusicSettings.from_parameters({}) == MusicSettings()


def test_turbo_is_read_from_the_checkpoint(
    generator: MusicGenerator, turbo: MusicGenerator
) -> None:
    assert turbo.pipeline.is_turbo
    assert not generator.pipeline.is_turbo


def test_turbo_refuses_more_steps_than_it_was_distilled_for(turbo: MusicGenerator) -> None:
    turbo.check_supported(MusicRequest(prompt="pop", inference_steps=8))
    with pytest.raises(InvalidInputError) as refused:
        turbo.check_supported(MusicRequest(prompt="pop", inference_steps=9))
    assert refused.value.input_name == "INFERENCE_STEPS"
    assert str(refused.value) == (
        "INFERENCE_STEPS: must be at most 8 (got 9): turbo checkpoint: "
        "its guidance is distilled into 8 steps, more only cost time"
    )
    with pytest.raises(InvalidInputError, match="INFERENCE_STEPS: must be at most 8"):
        turbo.generate([MusicRequest(prompt="pop", inference_steps=100)])
    limited = MusicGenerator(turbo.pipeline, MusicSettings(turbo_max_inference_steps=4))
    with pytest.raises(InvalidInputError, match="at most 4 \\(got 5\\)"):
        limited.check_supported(MusicRequest(prompt="pop", inference_steps=5))


def test_base_checkpoints_take_any_steps_within_the_limits(generator: MusicGenerator) -> None:
    generator.check_supported(MusicRequest(prompt="pop", inference_steps=100))


def dit_batch_sizes(generator: MusicGenerator, requests: list[MusicRequest]) -> set[int]:
    """The batch sizes the diffusion transformer runs at while `requests` are generated."""
    sizes: set[int] = set()
    hook = generator.pipeline.transformer.register_forward_pre_hook(
        lambda _module, _args, kwargs: sizes.add(kwargs["hidden_states"].shape[0]),
        with_kwargs=True,
    )
    try:
        generator.generate(requests)
    finally:
        hook.remove()
    return sizes


def test_turbo_ignores_guidance(generator: MusicGenerator, turbo: MusicGenerator) -> None:
    songs = [
        MusicRequest(prompt="pop", duration_seconds=10, guidance_scale=7.0, inference_steps=2),
        MusicRequest(prompt="pop", duration_seconds=10, guidance_scale=3.0, inference_steps=2),
    ]
    # Guidance doubles the base checkpoint's batch (with and without the condition)...
    assert dit_batch_sizes(generator, songs[:1]) == {2}
    # ...but not turbo's, and does not split its batches or change its songs.
    assert turbo.group_key(songs[0]) == turbo.group_key(songs[1])
    assert dit_batch_sizes(turbo, songs) == {2}
    (guided,) = turbo.generate(songs[:1])
    (unguided,) = turbo.generate(
        [MusicRequest(prompt="pop", duration_seconds=10, guidance_scale=1.0, inference_steps=2)]
    )
    np.testing.assert_array_equal(guided, unguided)
