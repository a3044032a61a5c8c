import math

import pytest

from engines import limits
from engines.limits import InvalidInputError
from engines.schema import CoverRequest, MusicRequest, PlanRequest, SongMode, SongRequest


def invalid_input(call) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        call()
    return raised.value


def test_mode_parses_known_values_only() -> None:
    assert SongMode.parse(" lyrics ") is SongMode.LYRICS
    error = invalid_input(lambda: SongMode.parse("karaoke"))
    assert error.input_name == "MODE"
    assert "described_lyrics" in str(error)


def test_description_mode_needs_a_description_and_nothing_else() -> None:
    request = PlanRequest(mode=SongMode.DESCRIPTION, description="  a calm piano song  ")
    assert request.description == "a calm piano song"
    assert invalid_input(lambda: PlanRequest(mode=SongMode.DESCRIPTION)).input_name == "DESCRIPTION"
    error = invalid_input(
        lambda: PlanRequest(mode=SongMode.DESCRIPTION, description="x", prompt="rock")
    )
    assert error.input_name == "PROMPT"


@pytest.mark.parametrize("mode", [SongMode.DESCRIBED_LYRICS, SongMode.LYRICS])
def test_custom_modes_need_a_prompt_and_lyrics_unless_instrumental(mode: SongMode) -> None:
    assert invalid_input(lambda: PlanRequest(mode=mode, prompt=" ", lyrics="x")).input_name == (
        "PROMPT"
    )
    assert invalid_input(lambda: PlanRequest(mode=mode, prompt="rock")).input_name == "LYRICS"
    instrumental = PlanRequest(mode=mode, prompt="rock", instrumental=True)
    assert instrumental.lyrics == ""
    error = invalid_input(
        lambda: PlanRequest(mode=mode, prompt="rock", lyrics="la la", instrumental=True)
    )
    assert error.input_name == "LYRICS"
    assert "INSTRUMENTAL" in str(error)


def test_lyrics_limit_depends_on_the_mode() -> None:
    long_lyrics = "la " * 1000  # 2999 characters once stripped
    PlanRequest(mode=SongMode.LYRICS, prompt="pop", lyrics=long_lyrics)
    error = invalid_input(
        lambda: PlanRequest(mode=SongMode.DESCRIBED_LYRICS, prompt="pop", lyrics=long_lyrics)
    )
    assert error.input_name == "LYRICS"
    assert f"at most {limits.MAX_LYRICS_DESCRIPTION_CHARS} characters" in str(error)
    oversized = "x" * (limits.MAX_LYRICS_CHARS + 1)
    error = invalid_input(lambda: PlanRequest(mode=SongMode.LYRICS, prompt="pop", lyrics=oversized))
    assert error.input_name == "LYRICS"


@pytest.mark.parametrize(
    ("field", "value", "input_name"),
    [
        ("duration_seconds", 9.99, "DURATION_SECONDS"),
        ("duration_seconds", 240.5, "DURATION_SECONDS"),
        ("duration_seconds", math.nan, "DURATION_SECONDS"),
        ("inference_steps", 0, "INFERENCE_STEPS"),
        ("inference_steps", limits.MAX_INFERENCE_STEPS + 1, "INFERENCE_STEPS"),
        ("guidance_scale", 0.5, "GUIDANCE_SCALE"),
        ("guidance_scale", math.inf, "GUIDANCE_SCALE"),
        ("seed", -1, "SEED"),
        ("prompt", "", "PROMPT"),
    ],
)
def test_music_request_limits(field: str, value: object, input_name: str) -> None:
    fields = {"prompt": "pop", field: value}
    error = invalid_input(lambda: MusicRequest(**fields))
    assert error.input_name == input_name


def test_music_request_defaults_and_instrumental_lyrics() -> None:
    request = MusicRequest(prompt="pop", duration_seconds=10, seed=limits.MAX_SEED)
    assert request.lyrics == limits.INSTRUMENTAL_LYRICS
    assert request.duration_seconds == 10.0
    assert request.inference_steps == limits.DEFAULT_INFERENCE_STEPS


def test_range_errors_print_the_limits_and_the_value() -> None:
    error = invalid_input(lambda: MusicRequest(prompt="pop", duration_seconds=5))
    assert str(error) == "DURATION_SECONDS: must be between 10 and 240 seconds (got 5)"


def test_cover_request_limits() -> None:
    assert invalid_input(lambda: CoverRequest(title="t", prompt="")).input_name == "PROMPT"
    too_long = "t" * (limits.MAX_TITLE_CHARS + 1)
    assert invalid_input(lambda: CoverRequest(title=too_long, prompt="p")).input_name == "TITLE"


def test_song_request_checks_the_plan_and_the_music_settings() -> None:
    plan = PlanRequest(mode=SongMode.DESCRIPTION, description="calm piano")
    assert SongRequest(plan=plan).duration_seconds == limits.DEFAULT_DURATION_SECONDS
    error = invalid_input(lambda: SongRequest(plan=plan, inference_steps=0))
    assert error.input_name == "INFERENCE_STEPS"
