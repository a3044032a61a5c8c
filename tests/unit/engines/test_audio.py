import io

import numpy as np
import pytest
import soundfile

from engines.audio import AudioFormat, encode_audio


@pytest.mark.parametrize("audio_format", list(AudioFormat))
def test_encoded_audio_decodes_to_the_same_samples(audio_format: AudioFormat) -> None:
    rng = np.random.default_rng(0)
    samples = rng.uniform(-0.9, 0.9, size=(24000, 2)).astype(np.float32)
    encoded = encode_audio(samples, 24000, audio_format)
    decoded, sample_rate = soundfile.read(io.BytesIO(encoded), dtype="float32")
    assert sample_rate == 24000
    assert decoded.shape == samples.shape
    np.testing.assert_allclose(decoded, samples, atol=1 / 2**15)
    assert soundfile.info(io.BytesIO(encoded)).format == audio_format.value.upper()


def test_out_of_range_samples_are_clipped_not_wrapped() -> None:
    encoded = encode_audio(np.full((100, 1), 3.0, dtype=np.float32), 8000, AudioFormat.FLAC)
    decoded, _ = soundfile.read(io.BytesIO(encoded), dtype="float32")
    assert decoded.min() > 0.99
