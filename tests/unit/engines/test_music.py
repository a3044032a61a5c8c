from pathlib import Path

import numpy as np
import pytest

from engines.music import MusicGenerator, MusicSettings
from engines.schema import MusicRequest


@pytest.fixture(scope="module")
def generator(tiny_models: Path) -> MusicGenerator:
    return MusicGenerator.from_pretrained(tiny_models / "acestep")


def test_songs_have_the_exact_duration_and_are_normalized(generator: MusicGenerator) -> None:
    requests = [
        MusicRequest(prompt="pop", lyrics="[verse]\nla la", duration_seconds=10, seed=1),
        MusicRequest(prompt="rock", duration_seconds=12.5, seed=2, inference_steps=2),
    ]
    songs = generator.generate(requests)
    assert [song.shape for song in songs] == [
        (10 * generator.sample_rate, 2),
        (int(12.5 * generator.sample_rate), 2),
    ]
    for song in songs:
        assert song.dtype == np.float32
        assert 0.8 < np.abs(song).max() <= 0.9


def test_same_seed_same_song(generator: MusicGenerator) -> None:
    request = MusicRequest(prompt="jazz", lyrics="[verse]\nla", duration_seconds=10, seed=7)
    first, second = generator.generate([request]), generator.generate([request])
    np.testing.assert_array_equal(first[0], second[0])
    other = generator.generate(
        [MusicRequest(prompt="jazz", lyrics="[verse]\nla", seed=8, duration_seconds=10)]
    )
    assert np.abs(other[0] - first[0]).mean() > 0.01


def test_a_song_keeps_its_own_noise_in_a_batch(generator: MusicGenerator) -> None:
    # Requests with equal token lengths: ACE-Step's cross-attention sees the batch's padding
    # (it is unmasked by design), so only equally padded songs can be compared exactly.
    alone = generator.generate([MusicRequest(prompt="jazz", duration_seconds=10, seed=7)])[0]
    batch = generator.generate(
        [
            MusicRequest(prompt="jazz", duration_seconds=10, seed=8),
            MusicRequest(prompt="jazz", duration_seconds=10, seed=7),
        ]
    )
    np.testing.assert_allclose(batch[1], alone, atol=1e-4)
    assert np.abs(batch[0] - alone).mean() > 0.01


def test_requests_are_grouped_by_settings(generator: MusicGenerator) -> None:
    requests = [
        MusicRequest(prompt="a", duration_seconds=10, guidance_scale=3.0),
        MusicRequest(prompt="b", duration_seconds=11),
        MusicRequest(prompt="c", duration_seconds=10, guidance_scale=3.0),
    ]
    keys = [generator.group_key(request) for request in requests]
    assert keys[0] == keys[2] != keys[1]
    songs = generator.generate(requests)
    assert [len(song) for song in songs] == [
        10 * generator.sample_rate,
        11 * generator.sample_rate,
        10 * generator.sample_rate,
    ]


def test_decode_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="decode_batch_size"):
        MusicSettings(decode_batch_size=0)
