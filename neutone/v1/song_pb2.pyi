import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SongStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SONG_STATUS_UNSPECIFIED: _ClassVar[SongStatus]
    SONG_STATUS_QUEUED: _ClassVar[SongStatus]
    SONG_STATUS_PROCESSING: _ClassVar[SongStatus]
    SONG_STATUS_READY: _ClassVar[SongStatus]
    SONG_STATUS_FAILED: _ClassVar[SongStatus]

class GenerationStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENERATION_STAGE_UNSPECIFIED: _ClassVar[GenerationStage]
    GENERATION_STAGE_QUEUED: _ClassVar[GenerationStage]
    GENERATION_STAGE_PLANNING: _ClassVar[GenerationStage]
    GENERATION_STAGE_GENERATING: _ClassVar[GenerationStage]
    GENERATION_STAGE_UPLOADING: _ClassVar[GenerationStage]
    GENERATION_STAGE_DONE: _ClassVar[GenerationStage]

class SongMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SONG_MODE_UNSPECIFIED: _ClassVar[SongMode]
    SONG_MODE_DESCRIPTION: _ClassVar[SongMode]
    SONG_MODE_DESCRIBED_LYRICS: _ClassVar[SongMode]
    SONG_MODE_CUSTOM_LYRICS: _ClassVar[SongMode]

class SongTask(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SONG_TASK_UNSPECIFIED: _ClassVar[SongTask]
    SONG_TASK_TEXT_TO_MUSIC: _ClassVar[SongTask]
    SONG_TASK_EXTEND: _ClassVar[SongTask]
    SONG_TASK_REPAINT: _ClassVar[SongTask]
    SONG_TASK_COVER: _ClassVar[SongTask]
    SONG_TASK_STEMS: _ClassVar[SongTask]

class Stem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEM_UNSPECIFIED: _ClassVar[Stem]
    STEM_VOCALS: _ClassVar[Stem]
    STEM_DRUMS: _ClassVar[Stem]
    STEM_BASS: _ClassVar[Stem]
    STEM_OTHER: _ClassVar[Stem]
SONG_STATUS_UNSPECIFIED: SongStatus
SONG_STATUS_QUEUED: SongStatus
SONG_STATUS_PROCESSING: SongStatus
SONG_STATUS_READY: SongStatus
SONG_STATUS_FAILED: SongStatus
GENERATION_STAGE_UNSPECIFIED: GenerationStage
GENERATION_STAGE_QUEUED: GenerationStage
GENERATION_STAGE_PLANNING: GenerationStage
GENERATION_STAGE_GENERATING: GenerationStage
GENERATION_STAGE_UPLOADING: GenerationStage
GENERATION_STAGE_DONE: GenerationStage
SONG_MODE_UNSPECIFIED: SongMode
SONG_MODE_DESCRIPTION: SongMode
SONG_MODE_DESCRIBED_LYRICS: SongMode
SONG_MODE_CUSTOM_LYRICS: SongMode
SONG_TASK_UNSPECIFIED: SongTask
SONG_TASK_TEXT_TO_MUSIC: SongTask
SONG_TASK_EXTEND: SongTask
SONG_TASK_REPAINT: SongTask
SONG_TASK_COVER: SongTask
SONG_TASK_STEMS: SongTask
STEM_UNSPECIFIED: Stem
STEM_VOCALS: Stem
STEM_DRUMS: Stem
STEM_BASS: Stem
STEM_OTHER: Stem

class MusicalControls(_message.Message):
    __slots__ = ("bpm", "key_scale", "time_signature", "vocal_language")
    BPM_FIELD_NUMBER: _ClassVar[int]
    KEY_SCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    VOCAL_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    bpm: int
    key_scale: str
    time_signature: int
    vocal_language: str
    def __init__(self, bpm: _Optional[int] = ..., key_scale: _Optional[str] = ..., time_signature: _Optional[int] = ..., vocal_language: _Optional[str] = ...) -> None: ...

class SongSource(_message.Message):
    __slots__ = ("song_id", "upload_id")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    upload_id: str
    def __init__(self, song_id: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class SongLineage(_message.Message):
    __slots__ = ("task", "source_song_id", "source_upload_id", "section_start_seconds", "section_end_seconds")
    TASK_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SONG_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    SECTION_START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SECTION_END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    task: SongTask
    source_song_id: str
    source_upload_id: str
    section_start_seconds: float
    section_end_seconds: float
    def __init__(self, task: _Optional[_Union[SongTask, str]] = ..., source_song_id: _Optional[str] = ..., source_upload_id: _Optional[str] = ..., section_start_seconds: _Optional[float] = ..., section_end_seconds: _Optional[float] = ...) -> None: ...

class GenerationParams(_message.Message):
    __slots__ = ("duration_seconds", "seed", "guidance_scale", "inference_steps")
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    GUIDANCE_SCALE_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_STEPS_FIELD_NUMBER: _ClassVar[int]
    duration_seconds: float
    seed: int
    guidance_scale: float
    inference_steps: int
    def __init__(self, duration_seconds: _Optional[float] = ..., seed: _Optional[int] = ..., guidance_scale: _Optional[float] = ..., inference_steps: _Optional[int] = ...) -> None: ...

class Song(_message.Message):
    __slots__ = ("id", "owner_id", "owner_display_name", "title", "status", "stage", "progress", "failure_reason", "mode", "description", "prompt", "lyrics_input", "instrumental", "params", "prompt_used", "lyrics_used", "categories", "published", "like_count", "play_count", "liked_by_caller", "audio_duration_seconds", "create_time", "update_time", "publish_time", "controls", "lineage", "remix_allowed", "take", "stems")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    LYRICS_INPUT_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTAL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_USED_FIELD_NUMBER: _ClassVar[int]
    LYRICS_USED_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PLAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIKED_BY_CALLER_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    REMIX_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    TAKE_FIELD_NUMBER: _ClassVar[int]
    STEMS_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_id: str
    owner_display_name: str
    title: str
    status: SongStatus
    stage: GenerationStage
    progress: float
    failure_reason: str
    mode: SongMode
    description: str
    prompt: str
    lyrics_input: str
    instrumental: bool
    params: GenerationParams
    prompt_used: str
    lyrics_used: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    published: bool
    like_count: int
    play_count: int
    liked_by_caller: bool
    audio_duration_seconds: float
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    publish_time: _timestamp_pb2.Timestamp
    controls: MusicalControls
    lineage: SongLineage
    remix_allowed: bool
    take: int
    stems: _containers.RepeatedScalarFieldContainer[Stem]
    def __init__(self, id: _Optional[str] = ..., owner_id: _Optional[str] = ..., owner_display_name: _Optional[str] = ..., title: _Optional[str] = ..., status: _Optional[_Union[SongStatus, str]] = ..., stage: _Optional[_Union[GenerationStage, str]] = ..., progress: _Optional[float] = ..., failure_reason: _Optional[str] = ..., mode: _Optional[_Union[SongMode, str]] = ..., description: _Optional[str] = ..., prompt: _Optional[str] = ..., lyrics_input: _Optional[str] = ..., instrumental: _Optional[bool] = ..., params: _Optional[_Union[GenerationParams, _Mapping]] = ..., prompt_used: _Optional[str] = ..., lyrics_used: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., published: _Optional[bool] = ..., like_count: _Optional[int] = ..., play_count: _Optional[int] = ..., liked_by_caller: _Optional[bool] = ..., audio_duration_seconds: _Optional[float] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., controls: _Optional[_Union[MusicalControls, _Mapping]] = ..., lineage: _Optional[_Union[SongLineage, _Mapping]] = ..., remix_allowed: _Optional[bool] = ..., take: _Optional[int] = ..., stems: _Optional[_Iterable[_Union[Stem, str]]] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class Artist(_message.Message):
    __slots__ = ("id", "display_name", "published_song_count", "play_count", "like_count", "first_publish_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_SONG_COUNT_FIELD_NUMBER: _ClassVar[int]
    PLAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    published_song_count: int
    play_count: int
    like_count: int
    first_publish_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., published_song_count: _Optional[int] = ..., play_count: _Optional[int] = ..., like_count: _Optional[int] = ..., first_publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
