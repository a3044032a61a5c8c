"""Encoding generated audio into the file formats the platform stores and streams."""

import io
from enum import StrEnum

import numpy as np
import soundfile


class AudioFormat(StrEnum):
    FLAC = "flac"
    WAV = "wav"


def encode_audio(samples: np.ndarray, sample_rate: int, audio_format: AudioFormat) -> bytes:
    """Encodes float samples of shape (frames, channels) in [-1, 1] as 16-bit audio."""
    buffer = io.BytesIO()
    soundfile.write(
        buffer,
        np.clip(samples, -1.0, 1.0),
        sample_rate,
        format=audio_format.value.upper(),
        subtype="PCM_16",
    )
    return buffer.getvalue()
