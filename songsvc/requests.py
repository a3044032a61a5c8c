"""What a song-making request asks for, checked against the limits before
anything is written: every bad field is reported at once, by its name in the
contract and with the limit it broke.

The checks that need the source (an edit's section must lie within the source,
an extension must not make the song too long) are in `EditRequest.song_values`,
run once the source is known."""

import math
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from engines import controls, limits
from neutone.v1 import song_pb2, song_service_pb2
from runtime.errors import Violations
from songsvc.records import Mode, Task

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_RANDOM_SEED = 2**31 - 1
MAX_TAKES = 4
# An extension may grow a song as far as the model tier takes (ten minutes).
MAX_SONG_SECONDS = limits.MAX_EDIT_DURATION_SECONDS
MIN_EXTENSION_SECONDS = 10.0
MAX_EXTENSION_SECONDS = 240.0
MIN_REPAINT_SECONDS = 1.0
# The musical controls' columns.
CONTROLS = ("bpm", "key_scale", "time_signature", "vocal_language")
DEFAULT_COVER_STRENGTH = 0.5

Columns = dict[str, Any]


class SourceKind(StrEnum):
    SONG = "song"
    UPLOAD = "upload"


@dataclass(frozen=True, slots=True)
class SourceRef:
    kind: SourceKind
    id: UUID


@dataclass(frozen=True, slots=True)
class Source:
    """What an edit starts from, as far as the request's checks need it."""

    ref: SourceRef
    duration_seconds: float
    title: str
    prompt: str
    lyrics: str
    categories: tuple[str, ...]
    # The musical controls it was made with (None where unknown, as for uploads).
    controls: Columns


@dataclass(frozen=True, slots=True)
class NewSongs:
    """A CreateSong request: each take's columns, and the style reference asked for."""

    takes: list[Columns]
    reference_upload_id: UUID | None
    idempotency_key: str | None


@dataclass(frozen=True, slots=True)
class EditRequest:
    """An edit (extend, repaint, cover, stems) before its source is known."""

    task: Task
    source: SourceRef
    idempotency_key: str | None
    # Columns of the new song that need no source.
    columns: Columns
    extension_seconds: float = 0.0
    at_start: bool = False
    section: tuple[float, float] = (0.0, 0.0)
    prompt: str = ""
    lyrics: str = ""

    def song_values(self, source: Source) -> Columns:
        """The new song's columns; InvalidArgument when the request does not fit
        the source (a section outside it, a song too long)."""
        check = Violations()
        if not (self.prompt or source.prompt):
            check.add("prompt", "is required: the source has no style prompt to keep (an upload)")
        given_controls = {name: value for name, value in self.columns.items() if name in CONTROLS}
        values: Columns = {
            # What the source was made with holds unless the request says otherwise.
            **source.controls,
            **{name: value for name, value in given_controls.items() if value is not None},
            **{name: value for name, value in self.columns.items() if name not in CONTROLS},
            "task": self.task,
            "source_song_id": source.ref.id if source.ref.kind is SourceKind.SONG else None,
            "source_upload_id": source.ref.id if source.ref.kind is SourceKind.UPLOAD else None,
            # An edit is not planned: its style and lyrics are given or the source's.
            "mode": Mode.CUSTOM_LYRICS,
            "prompt": self.prompt or source.prompt,
            "prompt_used": self.prompt or source.prompt,
            "lyrics_input": self.lyrics,
            "categories": list(source.categories),
            "duration_seconds": source.duration_seconds,
        }
        lyrics = self.lyrics or source.lyrics
        if self.task is Task.EXTEND:
            total = source.duration_seconds + self.extension_seconds
            if total > MAX_SONG_SECONDS:
                check.add(
                    "extension_seconds",
                    f"would make the song {total:g} s long; at most {MAX_SONG_SECONDS:g}",
                )
            start = 0.0 if self.at_start else source.duration_seconds
            # The model hears the whole song's lyrics, in order: the new part's (if
            # given) before or after the kept part's.
            parts = [source.lyrics, self.lyrics]
            whole = "\n\n".join(part for part in (parts[::-1] if self.at_start else parts) if part)
            values |= {
                "duration_seconds": total,
                "section_start_seconds": start,
                "section_end_seconds": start + self.extension_seconds,
                "title": f"{source.title} (extended)",
                "lyrics_used": whole or limits.INSTRUMENTAL_LYRICS,
                "instrumental": not whole,
            }
        elif self.task is Task.REPAINT:
            start, end = self.section
            if end > source.duration_seconds:
                check.add(
                    "end_seconds",
                    f"must be at most the source's length, {source.duration_seconds:g} s",
                )
            values |= {
                "section_start_seconds": start,
                "section_end_seconds": min(end, source.duration_seconds),
                "title": f"{source.title} (repainted)",
                "lyrics_used": lyrics or limits.INSTRUMENTAL_LYRICS,
                "instrumental": not lyrics,
            }
        elif self.task is Task.COVER:
            values |= {
                "title": f"{source.title} (cover)",
                "lyrics_used": lyrics or limits.INSTRUMENTAL_LYRICS,
                "instrumental": not lyrics,
            }
        else:
            values |= {
                "title": f"{source.title} (stems)",
                "lyrics_used": source.lyrics or limits.INSTRUMENTAL_LYRICS,
                "instrumental": not source.lyrics,
            }
        check.raise_if_any()
        return values


def create_song(request: song_service_pb2.CreateSongRequest) -> NewSongs:
    """The songs a CreateSong request asks for, one per take, defaults filled in."""
    check = Violations()
    columns = _text_to_music(check, request)
    columns |= generation_params(check, request.params, with_duration=True)
    columns |= musical_controls(check, "controls", request.controls)
    takes = request.takes or 1
    check.integer("takes", takes, minimum=1, maximum=MAX_TAKES)
    reference = (
        _uuid(check, "reference_upload_id", request.reference_upload_id)
        if request.reference_upload_id
        else None
    )
    key = idempotency_key(check, request.idempotency_key)
    check.raise_if_any()
    # Each take is a song of its own: the next seed, the same request otherwise.
    return NewSongs(
        takes=[
            {**columns, "seed": columns["seed"] + index, "take": index + 1}
            for index in range(takes)
        ],
        reference_upload_id=reference,
        idempotency_key=key,
    )


def extend(request: song_service_pb2.ExtendSongRequest) -> EditRequest:
    check = Violations()
    source = song_source(check, "source", request.source)
    extension = _number(
        check,
        "extension_seconds",
        request.extension_seconds,
        low=MIN_EXTENSION_SECONDS,
        high=MAX_EXTENSION_SECONDS,
    )
    edit = EditRequest(
        task=Task.EXTEND,
        source=source,
        idempotency_key=idempotency_key(check, request.idempotency_key),
        columns=generation_params(check, request.params, with_duration=False),
        extension_seconds=extension,
        at_start=request.at_start,
        **_optional_texts(check, request),
    )
    check.raise_if_any()
    return edit


def repaint(request: song_service_pb2.RepaintSongRequest) -> EditRequest:
    check = Violations()
    source = song_source(check, "source", request.source)
    start = _number(check, "start_seconds", request.start_seconds, low=0, high=MAX_SONG_SECONDS)
    end = _number(check, "end_seconds", request.end_seconds, low=0, high=MAX_SONG_SECONDS)
    if math.isfinite(start) and math.isfinite(end) and end - start < MIN_REPAINT_SECONDS:
        check.add("end_seconds", f"must be at least {MIN_REPAINT_SECONDS:g} s after start_seconds")
    edit = EditRequest(
        task=Task.REPAINT,
        source=source,
        idempotency_key=idempotency_key(check, request.idempotency_key),
        columns=generation_params(check, request.params, with_duration=False),
        section=(start, end),
        **_optional_texts(check, request),
    )
    check.raise_if_any()
    return edit


def cover(request: song_service_pb2.CoverSongRequest) -> EditRequest:
    check = Violations()
    source = song_source(check, "source", request.source)
    strength = DEFAULT_COVER_STRENGTH
    if request.HasField("strength"):
        strength = _number(check, "strength", request.strength, low=0, high=1)
    columns = generation_params(check, request.params, with_duration=False)
    columns |= musical_controls(check, "controls", request.controls)
    edit = EditRequest(
        task=Task.COVER,
        source=source,
        idempotency_key=idempotency_key(check, request.idempotency_key),
        columns={**columns, "cover_strength": strength},
        prompt=check.text("prompt", request.prompt, max_length=limits.MAX_PROMPT_CHARS),
        lyrics=check.text(
            "lyrics", request.lyrics, max_length=limits.MAX_LYRICS_CHARS, min_length=0
        ),
    )
    check.raise_if_any()
    return edit


def separate_stems(request: song_service_pb2.SeparateStemsRequest) -> EditRequest:
    check = Violations()
    edit = EditRequest(
        task=Task.STEMS,
        source=song_source(check, "source", request.source),
        idempotency_key=idempotency_key(check, request.idempotency_key),
        columns=generation_params(check, song_pb2.GenerationParams(), with_duration=False),
    )
    check.raise_if_any()
    return edit


def _optional_texts(
    check: Violations,
    request: song_service_pb2.ExtendSongRequest | song_service_pb2.RepaintSongRequest,
) -> dict[str, str]:
    """An edit's new style and lyrics, each empty when the source's are kept."""
    return {
        "prompt": check.text(
            "prompt", request.prompt, max_length=limits.MAX_PROMPT_CHARS, min_length=0
        ),
        "lyrics": check.text(
            "lyrics", request.lyrics, max_length=limits.MAX_LYRICS_CHARS, min_length=0
        ),
    }


@dataclass(frozen=True, slots=True)
class LyricsRequest:
    """A checked SuggestLyrics request, its defaults filled in."""

    description: str
    prompt: str
    duration_seconds: float
    seed: int


def suggest_lyrics(request: song_service_pb2.SuggestLyricsRequest) -> LyricsRequest:
    check = Violations()
    description = check.text(
        "description", request.description, max_length=limits.MAX_LYRICS_DESCRIPTION_CHARS
    )
    prompt = check.text("prompt", request.prompt, max_length=limits.MAX_PROMPT_CHARS, min_length=0)
    duration_seconds = _number_or_default(
        check,
        "duration_seconds",
        request.duration_seconds,
        low=limits.MIN_DURATION_SECONDS,
        high=limits.MAX_DURATION_SECONDS,
        default=limits.DEFAULT_DURATION_SECONDS,
    )
    seed = check.integer("seed", request.seed, minimum=0, maximum=limits.MAX_SEED)
    check.raise_if_any()
    return LyricsRequest(
        description=description,
        prompt=prompt,
        duration_seconds=duration_seconds,
        seed=seed or secrets.randbelow(MAX_RANDOM_SEED) + 1,
    )


def song_source(check: Violations, field: str, source: song_pb2.SongSource) -> SourceRef:
    kind = source.WhichOneof("source")
    if kind is None:
        check.add(field, "one of song_id or upload_id is required")
        return SourceRef(SourceKind.SONG, UUID(int=0))
    value = _uuid(check, f"{field}.{kind}", getattr(source, kind))
    return SourceRef(SourceKind.SONG if kind == "song_id" else SourceKind.UPLOAD, value)


def generation_params(
    check: Violations, params: song_pb2.GenerationParams, *, with_duration: bool
) -> Columns:
    columns: Columns = {}
    if with_duration:
        columns["duration_seconds"] = _number_or_default(
            check,
            "params.duration_seconds",
            params.duration_seconds,
            low=limits.MIN_DURATION_SECONDS,
            high=limits.MAX_DURATION_SECONDS,
            default=limits.DEFAULT_DURATION_SECONDS,
        )
    elif params.duration_seconds:
        check.add("params.duration_seconds", "must be unset: the length follows from the source")
    columns["guidance_scale"] = _number_or_default(
        check,
        "params.guidance_scale",
        params.guidance_scale,
        low=limits.MIN_GUIDANCE_SCALE,
        high=limits.MAX_GUIDANCE_SCALE,
        default=limits.DEFAULT_GUIDANCE_SCALE,
    )
    columns["inference_steps"] = check.integer(
        "params.inference_steps",
        params.inference_steps or limits.DEFAULT_INFERENCE_STEPS,
        minimum=limits.MIN_INFERENCE_STEPS,
        maximum=limits.MAX_INFERENCE_STEPS,
    )
    # Room for the seeds of every take above the one given.
    seed = check.integer("params.seed", params.seed, minimum=0, maximum=limits.MAX_SEED - MAX_TAKES)
    # A random seed is fixed now, so retries of the job give the same song.
    columns["seed"] = seed or secrets.randbelow(MAX_RANDOM_SEED) + 1
    return columns


def musical_controls(check: Violations, field: str, given: song_pb2.MusicalControls) -> Columns:
    """The controls given (None for those left to the planner)."""
    columns: Columns = dict.fromkeys(CONTROLS)
    if given.bpm:
        columns["bpm"] = check.integer(
            f"{field}.bpm", given.bpm, minimum=controls.MIN_BPM, maximum=controls.MAX_BPM
        )
    if given.key_scale:
        key = controls.key_scale(given.key_scale)
        if key is None:
            check.add(
                f"{field}.key_scale",
                'must be one of the 24 major and minor keys, like "C major" or "F# minor"',
            )
        columns["key_scale"] = key
    if given.time_signature:
        if given.time_signature not in controls.TIME_SIGNATURES:
            choices = ", ".join(str(beats) for beats in controls.TIME_SIGNATURES)
            check.add(f"{field}.time_signature", f"must be one of {choices} beats per bar")
        columns["time_signature"] = given.time_signature
    if given.vocal_language:
        language = given.vocal_language.strip().lower()
        if language not in controls.VOCAL_LANGUAGES:
            check.add(
                f"{field}.vocal_language",
                "must be a language ACE-Step 1.5 sings in: " + ", ".join(controls.VOCAL_LANGUAGES),
            )
        columns["vocal_language"] = language
    return columns


def idempotency_key(check: Violations, key: str) -> str | None:
    if key and not IDEMPOTENCY_KEY_PATTERN.match(key):
        check.add("idempotency_key", "must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    return key or None


def id_field(field: str, raw: str) -> UUID:
    """The UUID in `field`; InvalidArgument naming the field when it is not one."""
    check = Violations()
    value = _uuid(check, field, raw)
    check.raise_if_any()
    return value


def _text_to_music(check: Violations, request: song_service_pb2.CreateSongRequest) -> Columns:
    mode_field = request.WhichOneof("mode")
    instrumental = request.instrumental
    description = prompt = lyrics = ""
    if mode_field is None:
        check.add("mode", "one of description, described_lyrics or custom_lyrics is required")
        mode = Mode.DESCRIPTION
    elif mode_field == "description":
        mode = Mode.DESCRIPTION
        description = check.text(
            "description", request.description, max_length=limits.MAX_DESCRIPTION_CHARS
        )
    else:
        described = mode_field == "described_lyrics"
        mode = Mode.DESCRIBED_LYRICS if described else Mode.CUSTOM_LYRICS
        given = request.described_lyrics if described else request.custom_lyrics
        prompt = check.text(
            f"{mode_field}.prompt", given.prompt, max_length=limits.MAX_PROMPT_CHARS
        )
        lyrics_field = "lyrics_description" if described else "lyrics"
        lyrics_limit = limits.MAX_LYRICS_DESCRIPTION_CHARS if described else limits.MAX_LYRICS_CHARS
        # Instrumental songs have no lyrics: whatever was given is not used.
        if not instrumental:
            lyrics = check.text(
                f"{mode_field}.{lyrics_field}",
                getattr(given, lyrics_field),
                max_length=lyrics_limit,
            )
    return {
        "task": Task.TEXT_TO_MUSIC,
        "mode": mode,
        "description": description,
        "prompt": prompt,
        "lyrics_input": lyrics,
        "instrumental": instrumental,
    }


def _uuid(check: Violations, field: str, raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        check.add(field, "must be a UUID")
        return UUID(int=0)


def _number(check: Violations, field: str, value: float, *, low: float, high: float) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        check.add(field, f"must be between {low:g} and {high:g}")
    return value


def _number_or_default(
    check: Violations, field: str, value: float, *, low: float, high: float, default: float
) -> float:
    if value == 0:
        return default
    return _number(check, field, value, low=low, high=high)
