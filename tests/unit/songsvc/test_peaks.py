"""The waveform songsvc keeps with each song: (min, max) pairs as signed bytes."""

import io

import numpy as np
import soundfile

from songsvc.audio import PEAK_BUCKETS, peaks


def flac(samples: np.ndarray, rate: int = 48_000) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def pairs(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int8).reshape(-1, 2)


def test_each_span_holds_its_lowest_and_highest_level_of_the_channels_averaged() -> None:
    rate = 48_000
    # Half a second of silence, then half a second at +-0.5 (left) and +-0.25 (right).
    left = np.concatenate([np.zeros(rate // 2), 0.5 * np.sign(np.sin(np.arange(rate // 2)))])
    right = left / 2
    levels = pairs(peaks(flac(np.stack([left, right], axis=1), rate)))
    assert levels.shape == (PEAK_BUCKETS, 2)
    assert (levels[: PEAK_BUCKETS // 2] == 0).all()
    # (0.5 + 0.25) / 2 = 0.375 of full scale: 48 of 127.
    assert (levels[PEAK_BUCKETS // 2 :] == [-48, 48]).all()


def test_full_scale_stays_within_a_signed_byte() -> None:
    loud = np.tile([1.0, -1.0], 5000)
    levels = pairs(peaks(flac(loud)))
    assert levels.min() == -127 and levels.max() == 127


def test_audio_shorter_than_the_buckets_repeats_its_samples() -> None:
    levels = pairs(peaks(flac(np.array([0.5, -0.5, 0.25]))))
    assert levels.shape == (PEAK_BUCKETS, 2)
    assert set(map(tuple, levels)) == {(64, 64), (-64, -64), (32, 32)}
