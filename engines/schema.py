"""Records that flow through the model tier: what each engine is asked and what it answers.

Requests validate themselves on construction, so an engine never sees a request that breaks
a limit, and in-process callers get the same errors as Triton clients.
"""

from dataclasses import dataclass
from enum import StrEnum

from engines import limits
from engines.limits import InvalidInputError


class SongMode(StrEnum):
    """How the person asked for the song (the MODE input)."""

    # Only a free-text description: the planner writes style prompt, lyrics and title.
    DESCRIPTION = "description"
    # A style prompt plus a description of the lyrics, which the planner writes.
    DESCRIBED_LYRICS = "described_lyrics"
    # A style prompt plus the lyrics themselves.
    LYRICS = "lyrics"

    @classmethod
    def parse(cls, value: str) -> "SongMode":
        try:
            return cls(value.strip())
        except ValueError:
            choices = ", ".join(mode.value for mode in cls)
            raise InvalidInputError("MODE", f"must be one of {choices} (got {value!r})") from None


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """One song request as the planner sees it; texts are stored stripped."""

    mode: SongMode
    description: str = ""
    prompt: str = ""
    lyrics: str = ""
    instrumental: bool = False

    def __post_init__(self) -> None:
        if self.mode is SongMode.DESCRIPTION:
            description = limits.check_text(
                "DESCRIPTION",
                self.description,
                max_chars=limits.MAX_DESCRIPTION_CHARS,
                required=True,
            )
            limits.check_empty("PROMPT", self.prompt, reason="in description mode")
            limits.check_empty("LYRICS", self.lyrics, reason="in description mode")
            object.__setattr__(self, "description", description)
            return
        limits.check_empty("DESCRIPTION", self.description, reason=f"in {self.mode} mode")
        prompt = limits.check_text(
            "PROMPT", self.prompt, max_chars=limits.MAX_PROMPT_CHARS, required=True
        )
        if self.instrumental:
            limits.check_empty("LYRICS", self.lyrics, reason="when INSTRUMENTAL is true")
            lyrics = ""
        else:
            max_chars = (
                limits.MAX_LYRICS_CHARS
                if self.mode is SongMode.LYRICS
                else limits.MAX_LYRICS_DESCRIPTION_CHARS
            )
            lyrics = limits.check_text("LYRICS", self.lyrics, max_chars=max_chars, required=True)
        object.__setattr__(self, "prompt", prompt)
        object.__setattr__(self, "lyrics", lyrics)


@dataclass(frozen=True, kw_only=True)
class SongPlan:
    """What the planner decided: the texts the music and cover models are conditioned on."""

    prompt: str
    lyrics: str
    title: str
    categories: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class MusicRequest:
    """One song for the music generator. Empty lyrics mean an instrumental song."""

    prompt: str
    lyrics: str = ""
    duration_seconds: float = limits.DEFAULT_DURATION_SECONDS
    seed: int = limits.DEFAULT_SEED
    guidance_scale: float = limits.DEFAULT_GUIDANCE_SCALE
    inference_steps: int = limits.DEFAULT_INFERENCE_STEPS

    def __post_init__(self) -> None:
        prompt = limits.check_text(
            "PROMPT", self.prompt, max_chars=limits.MAX_PROMPT_CHARS, required=True
        )
        lyrics = limits.check_text(
            "LYRICS", self.lyrics, max_chars=limits.MAX_LYRICS_CHARS, required=False
        )
        check_music_settings(
            duration_seconds=self.duration_seconds,
            seed=self.seed,
            guidance_scale=self.guidance_scale,
            inference_steps=self.inference_steps,
        )
        object.__setattr__(self, "prompt", prompt)
        object.__setattr__(self, "lyrics", lyrics or limits.INSTRUMENTAL_LYRICS)
        object.__setattr__(self, "duration_seconds", float(self.duration_seconds))
        object.__setattr__(self, "guidance_scale", float(self.guidance_scale))


@dataclass(frozen=True, kw_only=True)
class SongRequest:
    """A whole song request, as the neutone_song ensemble receives it.

    Checked in full before any model runs, so a bad request fails at the first step.
    """

    plan: PlanRequest
    duration_seconds: float = limits.DEFAULT_DURATION_SECONDS
    seed: int = limits.DEFAULT_SEED
    guidance_scale: float = limits.DEFAULT_GUIDANCE_SCALE
    inference_steps: int = limits.DEFAULT_INFERENCE_STEPS

    def __post_init__(self) -> None:
        check_music_settings(
            duration_seconds=self.duration_seconds,
            seed=self.seed,
            guidance_scale=self.guidance_scale,
            inference_steps=self.inference_steps,
        )


def check_music_settings(
    *, duration_seconds: float, seed: int, guidance_scale: float, inference_steps: int
) -> None:
    limits.check_range(
        "DURATION_SECONDS",
        duration_seconds,
        low=limits.MIN_DURATION_SECONDS,
        high=limits.MAX_DURATION_SECONDS,
        unit="seconds",
    )
    limits.check_range("SEED", seed, low=limits.MIN_SEED, high=limits.MAX_SEED)
    limits.check_range(
        "GUIDANCE_SCALE",
        guidance_scale,
        low=limits.MIN_GUIDANCE_SCALE,
        high=limits.MAX_GUIDANCE_SCALE,
    )
    limits.check_range(
        "INFERENCE_STEPS",
        inference_steps,
        low=limits.MIN_INFERENCE_STEPS,
        high=limits.MAX_INFERENCE_STEPS,
    )


@dataclass(frozen=True, kw_only=True)
class CoverRequest:
    """One cover image: painted from the song's title and style prompt."""

    title: str
    prompt: str
    seed: int = limits.DEFAULT_SEED

    def __post_init__(self) -> None:
        title = limits.check_text(
            "TITLE", self.title, max_chars=limits.MAX_TITLE_CHARS, required=False
        )
        prompt = limits.check_text(
            "PROMPT", self.prompt, max_chars=limits.MAX_PROMPT_CHARS, required=True
        )
        limits.check_range("SEED", self.seed, low=limits.MIN_SEED, high=limits.MAX_SEED)
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "prompt", prompt)
