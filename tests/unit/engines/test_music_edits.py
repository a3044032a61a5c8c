"""Working on a song in the engine: repaint, extend, cover and stems on the tiny model."""

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from engines.audio import AudioFormat, Clip, decode_audio, encode_audio
from engines.limits import InvalidInputError
from engines.music import CROSSFADE_SECONDS, MusicGenerator
from engines.schema import MusicalControls, MusicRequest, MusicTask, Stem

SOURCE_SECONDS = 10.0


@pytest.fixture(scope="module")
def generator(tiny_models: Path) -> MusicGenerator:
    return MusicGenerator.from_pretrained(tiny_models / "acestep")


@pytest.fixture(scope="module")
def source(generator: MusicGenerator) -> Clip:
    """A song of the model's own, as the worker sends it: its FLAC master."""
    [song] = generator.generate(
        [MusicRequest(prompt="pop", duration_seconds=SOURCE_SECONDS, seed=1, inference_steps=2)]
    )
    return _clip(generator, encode_audio(song, generator.sample_rate, AudioFormat.FLAC))


def _clip(generator: MusicGenerator, data: bytes) -> Clip:
    return decode_audio(
        data, sample_rate=generator.sample_rate, channels=generator.channels, input_name="SRC"
    )


def _edit(source: Clip | None, **fields: object) -> MusicRequest:
    values: dict[str, object] = {
        "prompt": "pop",
        "duration_seconds": SOURCE_SECONDS,
        "seed": 2,
        "inference_steps": 2,
        "source": source,
        **fields,
    }
    return MusicRequest(**values)  # type: ignore[arg-type]


def _outside(rate: int, frames: int, start: float, end: float) -> np.ndarray:
    """Frame indices outside [start, end) and its crossfades."""
    margin = round(CROSSFADE_SECONDS * rate)
    keep = np.ones(frames, dtype=bool)
    keep[max(0, round(start * rate) - margin) : round(end * rate) + margin] = False
    return np.flatnonzero(keep)


def test_repaint_keeps_the_audio_outside_the_section(
    generator: MusicGenerator, source: Clip
) -> None:
    [song] = generator.generate(
        [_edit(source, task=MusicTask.REPAINT, section_start_seconds=3, section_end_seconds=6)]
    )
    rate = generator.sample_rate
    audio = song.T
    assert audio.shape == source.samples.shape
    outside = _outside(rate, audio.shape[1], 3, 6)
    # 16-bit FLAC of the source came in; the kept part is that, sample for sample.
    np.testing.assert_allclose(audio[:, outside], source.samples[:, outside], atol=1e-6)
    inside = slice(3 * rate, 6 * rate)
    assert np.abs(audio[:, inside] - source.samples[:, inside]).mean() > 0.01


def test_extend_lengthens_by_what_was_asked(generator: MusicGenerator, source: Clip) -> None:
    total = SOURCE_SECONDS + 12
    after, before = generator.generate(
        [
            _edit(
                source,
                task=MusicTask.REPAINT,
                duration_seconds=total,
                section_start_seconds=SOURCE_SECONDS,
                section_end_seconds=total,
            ),
            _edit(
                source,
                task=MusicTask.REPAINT,
                duration_seconds=total,
                source_offset_seconds=12,
                section_start_seconds=0,
                section_end_seconds=12,
            ),
        ]
    )
    rate = generator.sample_rate
    assert len(after) == len(before) == round(total * rate)
    kept = _outside(rate, round(SOURCE_SECONDS * rate), SOURCE_SECONDS, total)
    np.testing.assert_allclose(after.T[:, kept], source.samples[:, kept], atol=1e-6)
    shifted = before.T[:, 12 * rate :]
    kept = np.arange(round(CROSSFADE_SECONDS * rate), shifted.shape[1])
    np.testing.assert_allclose(shifted[:, kept], source.samples[:, kept], atol=1e-6)
    # The new part is audio at the source's level, not silence.
    new_part = after.T[:, round(SOURCE_SECONDS * rate) :]
    level = np.sqrt(np.mean(np.square(new_part))) / np.sqrt(np.mean(np.square(source.samples)))
    assert 0.1 < level < 10


def test_cover_is_a_new_song_of_the_source_length(generator: MusicGenerator, source: Clip) -> None:
    strong, weak = generator.generate(
        [
            _edit(source, prompt="jazz", task=MusicTask.COVER, cover_strength=1.0),
            _edit(source, prompt="jazz", task=MusicTask.COVER, cover_strength=0.2),
        ]
    )
    assert strong.shape == weak.shape == source.samples.T.shape
    assert np.abs(strong - weak).mean() > 0.001
    assert np.abs(strong.T - source.samples).mean() > 0.01


def test_stems_add_up_to_the_source(generator: MusicGenerator, source: Clip) -> None:
    requests = [_edit(source, task=MusicTask.EXTRACT, track=stem) for stem in Stem]
    stems = generator.generate(requests)
    assert all(stem.shape == source.samples.T.shape for stem in stems)
    np.testing.assert_allclose(sum(stems).T, source.samples, atol=1e-5)
    # OTHER alone (its set's named stems made for it) is the same OTHER.
    [other] = generator.generate([requests[-1]])
    np.testing.assert_allclose(other, stems[-1], atol=1e-5)


def test_controls_and_a_reference_split_batches(generator: MusicGenerator, source: Clip) -> None:
    plain = MusicRequest(prompt="pop", duration_seconds=10)
    keys = {
        generator.group_key(request)
        for request in (
            plain,
            MusicRequest(prompt="rock", duration_seconds=10, seed=5),
            MusicRequest(prompt="pop", duration_seconds=10, controls=MusicalControls(bpm=120)),
            MusicRequest(prompt="pop", duration_seconds=10, reference=source),
        )
    }
    assert len(keys) == 3
    songs = generator.generate(
        [
            MusicRequest(
                prompt="pop",
                duration_seconds=10,
                reference=source,
                controls=MusicalControls(
                    bpm=90, key_scale="f# minor", time_signature=3, vocal_language="ja"
                ),
            )
        ]
    )
    assert songs[0].shape == (10 * generator.sample_rate, 2)


def test_decoding_resamples_and_fits_the_channels(generator: MusicGenerator) -> None:
    rate = 44100
    mono = np.sin(np.linspace(0, 440 * 2 * np.pi, rate)).astype(np.float32) * 0.5
    wav = io.BytesIO()
    soundfile.write(wav, mono, rate, format="WAV")
    clip = _clip(generator, wav.getvalue())
    assert clip.samples.shape == (2, generator.sample_rate)
    np.testing.assert_array_equal(clip.samples[0], clip.samples[1])
    with pytest.raises(InvalidInputError, match="SRC: is not audio"):
        _clip(generator, b"not audio at all")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"task": MusicTask.REPAINT, "source": None}, "SRC_AUDIO: is required for repaint"),
        (
            {"task": MusicTask.REPAINT, "section_start_seconds": 4, "section_end_seconds": 4.5},
            "REPAINT_END_SECONDS: must be between 5 and 10",
        ),
        (
            {"task": MusicTask.REPAINT, "section_start_seconds": 2, "section_end_seconds": 11},
            "REPAINT_END_SECONDS",
        ),
        ({"task": MusicTask.COVER, "cover_strength": 1.5}, "COVER_STRENGTH: must be between 0"),
        ({"task": MusicTask.EXTRACT}, "TRACK: is required for extract"),
        ({"task": MusicTask.COVER, "duration_seconds": 700}, "DURATION_SECONDS"),
        ({"task": MusicTask.TEXT2MUSIC}, "SRC_AUDIO: must not be sent"),
    ],
)
def test_bad_edits_name_the_input(source: Clip, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _edit(**{"source": source, "task": MusicTask.COVER, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"bpm": 20}, "BPM: must be between 30 and 300"),
        ({"key_scale": "H major"}, "KEY_SCALE: must be one of the 24"),
        ({"time_signature": 5}, "TIME_SIGNATURE: must be one of 2, 3, 4, 6"),
        ({"vocal_language": "xx"}, "VOCAL_LANGUAGE"),
    ],
)
def test_bad_controls_name_the_input(controls: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        MusicalControls(**controls)  # type: ignore[arg-type]
    assert MusicalControls(key_scale="gb MINOR").key_scale == "F# minor"


def test_stems_need_a_base_checkpoint(generator: MusicGenerator, source: Clip) -> None:
    request = _edit(source, task=MusicTask.EXTRACT, track=Stem.VOCALS)
    generator.check_supported(request)
    turbo = MusicGenerator(generator.pipeline)
    turbo.pipeline.is_turbo = True
    try:
        with pytest.raises(InvalidInputError, match="TASK: extract needs ACE-Step's base"):
            turbo.check_supported(request)
    finally:
        turbo.pipeline.is_turbo = False
