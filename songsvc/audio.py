"""Audio files songsvc makes from the masters the model tier delivers: other formats
for downloads, the whole song of a STEMS song from its stems, and the waveform
browsers draw."""

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


# A song's waveform: this many (min, max) pairs, whatever its length (GetSongMedia's
# `peaks`): finer than any player draws, and 2 KB a song.
PEAK_BUCKETS = 1000
# Full scale as a signed byte: -127..127 stands for -1..1 (-128 is never used, so
# the scale is symmetric).
PEAK_SCALE = 127


def peaks(flac: bytes, buckets: int = PEAK_BUCKETS) -> bytes:
    """The waveform of the audio, its channels averaged: `buckets` (min, max) pairs,
    interleaved, of consecutive equal spans of the audio, each a signed byte. A
    span shorter than one sample (audio of fewer samples than buckets) is the
    sample it starts at."""
    samples, _ = soundfile.read(io.BytesIO(flac), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if mono.size == 0:
        return b""
    starts = np.arange(buckets) * mono.size // buckets
    lows = np.minimum.reduceat(mono, starts)
    highs = np.maximum.reduceat(mono, starts)
    pairs = np.stack([lows, highs], axis=1).reshape(-1)
    return np.clip(np.round(pairs * PEAK_SCALE), -PEAK_SCALE, PEAK_SCALE).astype(np.int8).tobytes()


def _encode(samples: np.ndarray, sample_rate: int, audio_format: AudioFormat) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, sample_rate, **WRITE_OPTIONS[audio_format])  # type: ignore[arg-type]
    return out.getvalue()
