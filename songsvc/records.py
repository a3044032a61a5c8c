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

    @classmethod
    def from_row(cls, row: sa.Row) -> "Song":
        values = row._mapping
        return cls(
            **{
                name: values[name]
                for name in cls.__slots__
                if name not in ("status", "stage", "mode", "categories")
            },
            status=Status(values["status"]),
            stage=Stage(values["stage"]),
            mode=Mode(values["mode"]),
            categories=tuple(values["categories"]),
        )

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
        )
        if self.publish_time is not None:
            message.publish_time.CopyFrom(timestamp(self.publish_time))
        return message
