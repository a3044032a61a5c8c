"""Audio files songsvc makes from the masters the model tier delivers: other formats
for downloads, and the whole song of a STEMS song from its stems."""

import io

import numpy as np
import soundfile

from songsvc.records import AudioFormat

# libsndfile: 16-bit PCM; MP3 at a constant bitrate, level 0 (320 kbps).
WRITE_OPTIONS: dict[AudioFormat, dict[str, object]] = {
    AudioFormat.FLAC: {"format": "FLAC", "subtype": "PCM_16"},
    AudioFormat.WAV: {"format": "WAV", "subtype": "PCM_16"},
    AudioFormat.MP3: {"format": "MP3", "compression_level": 0.0, "bitrate_mode": "CONSTANT"},
}


def convert(flac: bytes, audio_format: AudioFormat) -> bytes:
    samples, sample_rate = soundfile.read(io.BytesIO(flac), dtype="float32")
    return _encode(samples, sample_rate, audio_format)


def mix(stems: list[bytes]) -> bytes:
    """The stems (FLAC, one rate and length) added up, as FLAC."""
    decoded = [soundfile.read(io.BytesIO(stem), dtype="float32") for stem in stems]
    rate = decoded[0][1]
    total = np.sum([samples for samples, _ in decoded], axis=0)
    return _encode(np.clip(total, -1.0, 1.0), rate, AudioFormat.FLAC)


def _encode(samples: np.ndarray, sample_rate: int, audio_format: AudioFormat) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, sample_rate, **WRITE_OPTIONS[audio_format])  # type: ignore[arg-type]
    return out.getvalue()
