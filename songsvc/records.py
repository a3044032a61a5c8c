"""The song as songsvc handles it, and its conversion to the contract's messages."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa

from neutone.v1 import song_pb2
from runtime.messages import timestamp


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (Status.READY, Status.FAILED)


class Stage(StrEnum):
    QUEUED = "queued"
    PLANNING = "planning"
    GENERATING = "generating"
    UPLOADING = "uploading"
    DONE = "done"


class Mode(StrEnum):
    """The values match the model tier's MODE input."""

    DESCRIPTION = "description"
    DESCRIBED_LYRICS = "described_lyrics"
    CUSTOM_LYRICS = "lyrics"


class Task(StrEnum):
    """What made a song; the values are ACE-Step's task names where one fits."""

    TEXT_TO_MUSIC = "text_to_music"
    EXTEND = "extend"
    REPAINT = "repaint"
    COVER = "cover"
    STEMS = "stems"


class StemName(StrEnum):
    VOCALS = "vocals"
    DRUMS = "drums"
    BASS = "bass"
    OTHER = "other"


class AudioFormat(StrEnum):
    FLAC = "flac"
    WAV = "wav"
    MP3 = "mp3"


STATUS_MESSAGES = {
    Status.QUEUED: song_pb2.SONG_STATUS_QUEUED,
    Status.PROCESSING: song_pb2.SONG_STATUS_PROCESSING,
    Status.READY: song_pb2.SONG_STATUS_READY,
    Status.FAILED: song_pb2.SONG_STATUS_FAILED,
}
STAGE_MESSAGES = {
    Stage.QUEUED: song_pb2.GENERATION_STAGE_QUEUED,
    Stage.PLANNING: song_pb2.GENERATION_STAGE_PLANNING,
    Stage.GENERATING: song_pb2.GENERATION_STAGE_GENERATING,
    Stage.UPLOADING: song_pb2.GENERATION_STAGE_UPLOADING,
    Stage.DONE: song_pb2.GENERATION_STAGE_DONE,
}
MODE_MESSAGES = {
    Mode.DESCRIPTION: song_pb2.SONG_MODE_DESCRIPTION,
    Mode.DESCRIBED_LYRICS: song_pb2.SONG_MODE_DESCRIBED_LYRICS,
    Mode.CUSTOM_LYRICS: song_pb2.SONG_MODE_CUSTOM_LYRICS,
}
TASK_MESSAGES = {
    Task.TEXT_TO_MUSIC: song_pb2.SONG_TASK_TEXT_TO_MUSIC,
    Task.EXTEND: song_pb2.SONG_TASK_EXTEND,
    Task.REPAINT: song_pb2.SONG_TASK_REPAINT,
    Task.COVER: song_pb2.SONG_TASK_COVER,
    Task.STEMS: song_pb2.SONG_TASK_STEMS,
}
STEM_MESSAGES = {
    StemName.VOCALS: song_pb2.STEM_VOCALS,
    StemName.DRUMS: song_pb2.STEM_DRUMS,
    StemName.BASS: song_pb2.STEM_BASS,
    StemName.OTHER: song_pb2.STEM_OTHER,
}


@dataclass(frozen=True, slots=True)
class Song:
    id: UUID
    owner_id: UUID
    owner_display_name: str
    title: str
    title_from_owner: bool
    status: Status
    stage: Stage
    progress: float
    failure_reason: str
    mode: Mode
    description: str
    prompt: str
    lyrics_input: str
    instrumental: bool
    duration_seconds: float
    seed: int
    guidance_scale: float
    inference_steps: int
    prompt_used: str | None
    lyrics_used: str | None
    categories: tuple[str, ...]
    audio_key: str | None
    cover_key: str | None
    audio_duration_seconds: float
    published: bool
    like_count: int
    play_count: int
    create_time: datetime
    update_time: datetime
    publish_time: datetime | None
    task: Task
    source_song_id: UUID | None
    source_upload_id: UUID | None
    section_start_seconds: float
    section_end_seconds: float
    cover_strength: float | None
    reference_upload_id: UUID | None
    remix_allowed: bool
    take: int
    bpm: int | None
    key_scale: str | None
    time_signature: int | None
    vocal_language: str | None
    stems: tuple[StemName, ...]

    @classmethod
    def from_row(cls, row: sa.Row) -> "Song":
        values = row._mapping
        converted = {
            "status": Status(values["status"]),
            "stage": Stage(values["stage"]),
            "mode": Mode(values["mode"]),
            "task": Task(values["task"]),
            "categories": tuple(values["categories"]),
            "stems": tuple(StemName(stem) for stem in values["stems"]),
        }
        return cls(
            **{name: values[name] for name in cls.__slots__ if name not in converted},
            **converted,
        )

    def can_be_covered_by(self, account_id: UUID | None) -> bool:
        """Whether `account_id` may make a cover of the song."""
        return self.owner_id == account_id or (self.published and self.remix_allowed)

    def visible_to(self, account_id: UUID | None) -> bool:
        return self.published or self.owner_id == account_id

    def to_message(self, *, liked_by_caller: bool = False) -> song_pb2.Song:
        message = song_pb2.Song(
            id=str(self.id),
            owner_id=str(self.owner_id),
            owner_display_name=self.owner_display_name,
            title=self.title,
            status=STATUS_MESSAGES[self.status],
            stage=STAGE_MESSAGES[self.stage],
            progress=self.progress,
            failure_reason=self.failure_reason,
            mode=MODE_MESSAGES[self.mode],
            description=self.description,
            prompt=self.prompt,
            lyrics_input=self.lyrics_input,
            instrumental=self.instrumental,
            params=song_pb2.GenerationParams(
                duration_seconds=self.duration_seconds,
                seed=self.seed,
                guidance_scale=self.guidance_scale,
                inference_steps=self.inference_steps,
            ),
            prompt_used=self.prompt_used or "",
            lyrics_used=self.lyrics_used or "",
            categories=self.categories,
            published=self.published,
            like_count=self.like_count,
            play_count=self.play_count,
            liked_by_caller=liked_by_caller,
            audio_duration_seconds=self.audio_duration_seconds,
            create_time=timestamp(self.create_time),
            update_time=timestamp(self.update_time),
            controls=song_pb2.MusicalControls(
                bpm=self.bpm or 0,
                key_scale=self.key_scale or "",
                time_signature=self.time_signature or 0,
                vocal_language=self.vocal_language or "",
            ),
            lineage=song_pb2.SongLineage(
                task=TASK_MESSAGES[self.task],
                source_song_id=str(self.source_song_id) if self.source_song_id else "",
                source_upload_id=str(self.source_upload_id) if self.source_upload_id else "",
                section_start_seconds=self.section_start_seconds,
                section_end_seconds=self.section_end_seconds,
            ),
            remix_allowed=self.remix_allowed,
            take=self.take,
            stems=[STEM_MESSAGES[stem] for stem in self.stems],
        )
        if self.publish_time is not None:
            message.publish_time.CopyFrom(timestamp(self.publish_time))
        return message
