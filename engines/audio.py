"""Audio in and out of the model tier: decoding the sources songs are made from, and
encoding generated audio into the formats the platform stores and streams."""

import hashlib
import io
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import soundfile
import soxr

from engines.limits import InvalidInputError


class AudioFormat(StrEnum):
    FLAC = "flac"
    WAV = "wav"


@dataclass(frozen=True)
class Clip:
    """Decoded audio at a model's sample rate: float32 samples of shape (channels, frames).

    `digest` names the encoded file, so requests that send the same file (the takes of one
    cover, say) can share a diffusion batch without comparing samples.
    """

    samples: np.ndarray = field(compare=False, repr=False)
    sample_rate: int
    digest: str

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate


def decode_audio(data: bytes, *, sample_rate: int, channels: int, input_name: str) -> Clip:
    """Decodes a WAV, FLAC, MP3 or OGG file to `channels` channels at `sample_rate`.

    Mono becomes stereo by doubling its channel, stereo becomes mono by averaging; any
    other rate is resampled (soxr's high quality). InvalidInputError, naming the input,
    when the bytes are not audio.
    """
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        raise InvalidInputError(input_name, "is not audio that can be decoded") from None
    if len(samples) == 0:
        raise InvalidInputError(input_name, "holds no audio")
    if rate != sample_rate:
        samples = soxr.resample(samples, rate, sample_rate, quality="HQ").astype(np.float32)
    if samples.shape[1] != channels:
        mono = samples.mean(axis=1, keepdims=True)
        samples = np.repeat(mono, channels, axis=1)
    return Clip(
        samples=np.ascontiguousarray(samples.T),
        sample_rate=sample_rate,
        digest=hashlib.blake2b(data, digest_size=16).hexdigest(),
    )


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
