"""Records that flow through the model tier: what each engine is asked and what it answers.

Requests validate themselves on construction, so an engine never sees a request that breaks
a limit, and in-process callers get the same errors as Triton clients.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from engines import controls, limits
from engines.limits import InvalidInputError

if TYPE_CHECKING:
    # Decoding audio needs soxr, which the services (importing these records for
    # their limits) do not install: annotations only.
    from engines.audio import Clip


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
    # How long the song lasts (written lyrics follow it) and the seed its texts are
    # sampled with.
    duration_seconds: float = limits.DEFAULT_DURATION_SECONDS
    seed: int = limits.DEFAULT_SEED

    def __post_init__(self) -> None:
        check_duration(self.duration_seconds)
        check_seed(self.seed)
        object.__setattr__(self, "duration_seconds", float(self.duration_seconds))
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


class MusicTask(StrEnum):
    """What the music generator does (the TASK input); the values are ACE-Step's."""

    TEXT2MUSIC = "text2music"
    # A section of the source made anew, the rest kept. Extending a song is a repaint of
    # the new part of a longer canvas the source is placed in.
    REPAINT = "repaint"
    # A new song on the source's structure, in a new style, `cover_strength` of the way.
    COVER = "cover"
    # One instrument's track out of the source (base checkpoints only).
    EXTRACT = "extract"

    @classmethod
    def parse(cls, value: str) -> "MusicTask":
        try:
            return cls(value.strip() or cls.TEXT2MUSIC)
        except ValueError:
            choices = ", ".join(task.value for task in cls)
            raise InvalidInputError("TASK", f"must be one of {choices} (got {value!r})") from None


class Stem(StrEnum):
    """The tracks EXTRACT splits out. ACE-Step names instruments, not "the rest": OTHER
    is the source less the other three."""

    VOCALS = "vocals"
    DRUMS = "drums"
    BASS = "bass"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str) -> "Stem":
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(stem.value for stem in cls)
            raise InvalidInputError("TRACK", f"must be one of {choices} (got {value!r})") from None


@dataclass(frozen=True, kw_only=True)
class MusicalControls:
    """Tempo, key, metre and language; None (or "") leaves each to the model."""

    bpm: int | None = None
    key_scale: str | None = None
    time_signature: int | None = None
    vocal_language: str | None = None

    def __post_init__(self) -> None:
        if self.bpm is not None:
            limits.check_range("BPM", self.bpm, low=controls.MIN_BPM, high=controls.MAX_BPM)
        if self.key_scale is not None:
            key = controls.key_scale(self.key_scale)
            if key is None:
                raise InvalidInputError(
                    "KEY_SCALE",
                    f"must be one of the 24 major and minor keys (got {self.key_scale!r})",
                )
            object.__setattr__(self, "key_scale", key)
        if self.time_signature is not None and self.time_signature not in controls.TIME_SIGNATURES:
            choices = ", ".join(str(beats) for beats in controls.TIME_SIGNATURES)
            raise InvalidInputError(
                "TIME_SIGNATURE", f"must be one of {choices} (got {self.time_signature})"
            )
        if self.vocal_language is not None and self.vocal_language not in controls.VOCAL_LANGUAGES:
            raise InvalidInputError(
                "VOCAL_LANGUAGE",
                f"must be a language ACE-Step sings in (got {self.vocal_language!r})",
            )


@dataclass(frozen=True, kw_only=True)
class MusicRequest:
    """One song for the music generator. Empty lyrics mean an instrumental song.

    Every task but TEXT2MUSIC works on `source`, placed `source_offset_seconds` into a canvas
    of `duration_seconds` (silence where it does not reach). REPAINT makes
    [section_start_seconds, section_end_seconds) anew and keeps the rest of the canvas.
    """

    prompt: str
    lyrics: str = ""
    duration_seconds: float = limits.DEFAULT_DURATION_SECONDS
    seed: int = limits.DEFAULT_SEED
    guidance_scale: float = limits.DEFAULT_GUIDANCE_SCALE
    inference_steps: int = limits.DEFAULT_INFERENCE_STEPS
    task: MusicTask = MusicTask.TEXT2MUSIC
    source: "Clip | None" = None
    source_offset_seconds: float = 0.0
    section_start_seconds: float = 0.0
    section_end_seconds: float = 0.0
    cover_strength: float = 1.0
    track: Stem | None = None
    # A song whose timbre the new one takes (any task).
    reference: "Clip | None" = None
    controls: MusicalControls = field(default_factory=MusicalControls)

    def __post_init__(self) -> None:
        prompt = limits.check_text(
            "PROMPT", self.prompt, max_chars=limits.MAX_PROMPT_CHARS, required=True
        )
        lyrics = limits.check_text(
            "LYRICS", self.lyrics, max_chars=limits.MAX_LYRICS_CHARS, required=False
        )
        if self.task is MusicTask.TEXT2MUSIC:
            check_duration(self.duration_seconds)
            if self.source is not None:
                raise InvalidInputError("SRC_AUDIO", "must not be sent for text2music")
        else:
            self._check_edit()
        check_seed(self.seed)
        check_sampling(guidance_scale=self.guidance_scale, inference_steps=self.inference_steps)
        object.__setattr__(self, "prompt", prompt)
        object.__setattr__(self, "lyrics", lyrics or limits.INSTRUMENTAL_LYRICS)
        object.__setattr__(self, "duration_seconds", float(self.duration_seconds))
        object.__setattr__(self, "guidance_scale", float(self.guidance_scale))

    def _check_edit(self) -> None:
        if self.source is None:
            raise InvalidInputError("SRC_AUDIO", f"is required for {self.task}")
        limits.check_range(
            "DURATION_SECONDS",
            self.duration_seconds,
            low=limits.MIN_EDIT_DURATION_SECONDS,
            high=limits.MAX_EDIT_DURATION_SECONDS,
            unit="seconds",
        )
        limits.check_range(
            "SRC_OFFSET_SECONDS",
            self.source_offset_seconds,
            low=0.0,
            high=self.duration_seconds - limits.MIN_EDIT_DURATION_SECONDS,
            unit="seconds",
        )
        if self.task is MusicTask.REPAINT:
            limits.check_range(
                "REPAINT_START_SECONDS",
                self.section_start_seconds,
                low=0.0,
                high=self.duration_seconds - limits.MIN_EDIT_DURATION_SECONDS,
                unit="seconds",
            )
            limits.check_range(
                "REPAINT_END_SECONDS",
                self.section_end_seconds,
                low=self.section_start_seconds + limits.MIN_EDIT_DURATION_SECONDS,
                high=self.duration_seconds,
                unit="seconds",
            )
        limits.check_range("COVER_STRENGTH", self.cover_strength, low=0.0, high=1.0)
        if (self.task is MusicTask.EXTRACT) != (self.track is not None):
            raise InvalidInputError("TRACK", "is required for extract, and only for it")


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


def check_duration(duration_seconds: float) -> None:
    limits.check_range(
        "DURATION_SECONDS",
        duration_seconds,
        low=limits.MIN_DURATION_SECONDS,
        high=limits.MAX_DURATION_SECONDS,
        unit="seconds",
    )


def check_seed(seed: int) -> None:
    limits.check_range("SEED", seed, low=limits.MIN_SEED, high=limits.MAX_SEED)


def check_sampling(*, guidance_scale: float, inference_steps: int) -> None:
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


def check_music_settings(
    *, duration_seconds: float, seed: int, guidance_scale: float, inference_steps: int
) -> None:
    check_duration(duration_seconds)
    check_seed(seed)
    check_sampling(guidance_scale=guidance_scale, inference_steps=inference_steps)


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
        check_seed(self.seed)
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "prompt", prompt)
