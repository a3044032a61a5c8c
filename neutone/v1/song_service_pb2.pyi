import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from neutone.v1 import access_pb2 as _access_pb2
from neutone.v1 import song_pb2 as _song_pb2
from neutone.v1 import upload_pb2 as _upload_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_FLAC: _ClassVar[AudioFormat]
    AUDIO_FORMAT_WAV: _ClassVar[AudioFormat]
    AUDIO_FORMAT_MP3: _ClassVar[AudioFormat]

class MySongsOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MY_SONGS_ORDER_UNSPECIFIED: _ClassVar[MySongsOrder]
    MY_SONGS_ORDER_NEWEST: _ClassVar[MySongsOrder]
    MY_SONGS_ORDER_OLDEST: _ClassVar[MySongsOrder]
    MY_SONGS_ORDER_TITLE: _ClassVar[MySongsOrder]

class FeedOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEED_ORDER_UNSPECIFIED: _ClassVar[FeedOrder]
    FEED_ORDER_NEWEST: _ClassVar[FeedOrder]
    FEED_ORDER_TRENDING: _ClassVar[FeedOrder]
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_FLAC: AudioFormat
AUDIO_FORMAT_WAV: AudioFormat
AUDIO_FORMAT_MP3: AudioFormat
MY_SONGS_ORDER_UNSPECIFIED: MySongsOrder
MY_SONGS_ORDER_NEWEST: MySongsOrder
MY_SONGS_ORDER_OLDEST: MySongsOrder
MY_SONGS_ORDER_TITLE: MySongsOrder
FEED_ORDER_UNSPECIFIED: FeedOrder
FEED_ORDER_NEWEST: FeedOrder
FEED_ORDER_TRENDING: FeedOrder

class DescribedLyrics(_message.Message):
    __slots__ = ("prompt", "lyrics_description")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    LYRICS_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    lyrics_description: str
    def __init__(self, prompt: _Optional[str] = ..., lyrics_description: _Optional[str] = ...) -> None: ...

class CustomLyrics(_message.Message):
    __slots__ = ("prompt", "lyrics")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    LYRICS_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    lyrics: str
    def __init__(self, prompt: _Optional[str] = ..., lyrics: _Optional[str] = ...) -> None: ...

class CreateSongRequest(_message.Message):
    __slots__ = ("description", "described_lyrics", "custom_lyrics", "instrumental", "params", "idempotency_key", "takes", "controls", "reference_upload_id")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIBED_LYRICS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_LYRICS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENTAL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TAKES_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    description: str
    described_lyrics: DescribedLyrics
    custom_lyrics: CustomLyrics
    instrumental: bool
    params: _song_pb2.GenerationParams
    idempotency_key: str
    takes: int
    controls: _song_pb2.MusicalControls
    reference_upload_id: str
    def __init__(self, description: _Optional[str] = ..., described_lyrics: _Optional[_Union[DescribedLyrics, _Mapping]] = ..., custom_lyrics: _Optional[_Union[CustomLyrics, _Mapping]] = ..., instrumental: _Optional[bool] = ..., params: _Optional[_Union[_song_pb2.GenerationParams, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., takes: _Optional[int] = ..., controls: _Optional[_Union[_song_pb2.MusicalControls, _Mapping]] = ..., reference_upload_id: _Optional[str] = ...) -> None: ...

class CreateSongResponse(_message.Message):
    __slots__ = ("song", "songs")
    SONG_FIELD_NUMBER: _ClassVar[int]
    SONGS_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ..., songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ...) -> None: ...

class ExtendSongRequest(_message.Message):
    __slots__ = ("source", "extension_seconds", "at_start", "lyrics", "prompt", "params", "idempotency_key")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXTENSION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AT_START_FIELD_NUMBER: _ClassVar[int]
    LYRICS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    source: _song_pb2.SongSource
    extension_seconds: float
    at_start: bool
    lyrics: str
    prompt: str
    params: _song_pb2.GenerationParams
    idempotency_key: str
    def __init__(self, source: _Optional[_Union[_song_pb2.SongSource, _Mapping]] = ..., extension_seconds: _Optional[float] = ..., at_start: _Optional[bool] = ..., lyrics: _Optional[str] = ..., prompt: _Optional[str] = ..., params: _Optional[_Union[_song_pb2.GenerationParams, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ExtendSongResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class RepaintSongRequest(_message.Message):
    __slots__ = ("source", "start_seconds", "end_seconds", "lyrics", "prompt", "params", "idempotency_key")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    START_SECONDS_FIELD_NUMBER: _ClassVar[int]
    END_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LYRICS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    source: _song_pb2.SongSource
    start_seconds: float
    end_seconds: float
    lyrics: str
    prompt: str
    params: _song_pb2.GenerationParams
    idempotency_key: str
    def __init__(self, source: _Optional[_Union[_song_pb2.SongSource, _Mapping]] = ..., start_seconds: _Optional[float] = ..., end_seconds: _Optional[float] = ..., lyrics: _Optional[str] = ..., prompt: _Optional[str] = ..., params: _Optional[_Union[_song_pb2.GenerationParams, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RepaintSongResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class CoverSongRequest(_message.Message):
    __slots__ = ("source", "prompt", "strength", "lyrics", "controls", "params", "idempotency_key")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    LYRICS_FIELD_NUMBER: _ClassVar[int]
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    source: _song_pb2.SongSource
    prompt: str
    strength: float
    lyrics: str
    controls: _song_pb2.MusicalControls
    params: _song_pb2.GenerationParams
    idempotency_key: str
    def __init__(self, source: _Optional[_Union[_song_pb2.SongSource, _Mapping]] = ..., prompt: _Optional[str] = ..., strength: _Optional[float] = ..., lyrics: _Optional[str] = ..., controls: _Optional[_Union[_song_pb2.MusicalControls, _Mapping]] = ..., params: _Optional[_Union[_song_pb2.GenerationParams, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CoverSongResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class SeparateStemsRequest(_message.Message):
    __slots__ = ("source", "idempotency_key")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    source: _song_pb2.SongSource
    idempotency_key: str
    def __init__(self, source: _Optional[_Union[_song_pb2.SongSource, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SeparateStemsResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class ListDerivedSongsRequest(_message.Message):
    __slots__ = ("song_id", "page_size", "page_token")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    page_size: int
    page_token: str
    def __init__(self, song_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDerivedSongsResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateUploadRequest(_message.Message):
    __slots__ = ("filename", "size_bytes", "content_type")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    filename: str
    size_bytes: int
    content_type: str
    def __init__(self, filename: _Optional[str] = ..., size_bytes: _Optional[int] = ..., content_type: _Optional[str] = ...) -> None: ...

class CreateUploadResponse(_message.Message):
    __slots__ = ("upload", "upload_url", "form_fields", "expire_time")
    class FormFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELDS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    upload: _upload_pb2.Upload
    upload_url: str
    form_fields: _containers.ScalarMap[str, str]
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, upload: _Optional[_Union[_upload_pb2.Upload, _Mapping]] = ..., upload_url: _Optional[str] = ..., form_fields: _Optional[_Mapping[str, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CompleteUploadRequest(_message.Message):
    __slots__ = ("upload_id",)
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    upload_id: str
    def __init__(self, upload_id: _Optional[str] = ...) -> None: ...

class CompleteUploadResponse(_message.Message):
    __slots__ = ("upload",)
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    upload: _upload_pb2.Upload
    def __init__(self, upload: _Optional[_Union[_upload_pb2.Upload, _Mapping]] = ...) -> None: ...

class GetSongDownloadRequest(_message.Message):
    __slots__ = ("song_id", "format", "stem")
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STEM_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    format: AudioFormat
    stem: _song_pb2.Stem
    def __init__(self, song_id: _Optional[str] = ..., format: _Optional[_Union[AudioFormat, str]] = ..., stem: _Optional[_Union[_song_pb2.Stem, str]] = ...) -> None: ...

class GetSongDownloadResponse(_message.Message):
    __slots__ = ("url", "filename", "content_type", "expire_time")
    URL_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    url: str
    filename: str
    content_type: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, url: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSongRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class GetSongResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class ListMySongsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "text_filter", "status", "order")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TEXT_FILTER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    text_filter: str
    status: _song_pb2.SongStatus
    order: MySongsOrder
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., text_filter: _Optional[str] = ..., status: _Optional[_Union[_song_pb2.SongStatus, str]] = ..., order: _Optional[_Union[MySongsOrder, str]] = ...) -> None: ...

class ListMySongsResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListFeedRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "category", "order")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    category: str
    order: FeedOrder
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., category: _Optional[str] = ..., order: _Optional[_Union[FeedOrder, str]] = ...) -> None: ...

class ListFeedResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchSongsRequest(_message.Message):
    __slots__ = ("query", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchSongsResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetArtistRequest(_message.Message):
    __slots__ = ("artist_id",)
    ARTIST_ID_FIELD_NUMBER: _ClassVar[int]
    artist_id: str
    def __init__(self, artist_id: _Optional[str] = ...) -> None: ...

class GetArtistResponse(_message.Message):
    __slots__ = ("artist",)
    ARTIST_FIELD_NUMBER: _ClassVar[int]
    artist: _song_pb2.Artist
    def __init__(self, artist: _Optional[_Union[_song_pb2.Artist, _Mapping]] = ...) -> None: ...

class ListArtistSongsRequest(_message.Message):
    __slots__ = ("artist_id", "page_size", "page_token")
    ARTIST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    artist_id: str
    page_size: int
    page_token: str
    def __init__(self, artist_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListArtistSongsResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListLikedSongsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLikedSongsResponse(_message.Message):
    __slots__ = ("songs", "next_page_token")
    SONGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    songs: _containers.RepeatedCompositeFieldContainer[_song_pb2.Song]
    next_page_token: str
    def __init__(self, songs: _Optional[_Iterable[_Union[_song_pb2.Song, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SuggestLyricsRequest(_message.Message):
    __slots__ = ("description", "prompt", "duration_seconds", "seed")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    description: str
    prompt: str
    duration_seconds: float
    seed: int
    def __init__(self, description: _Optional[str] = ..., prompt: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class SuggestLyricsResponse(_message.Message):
    __slots__ = ("prompt", "lyrics", "title")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    LYRICS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    lyrics: str
    title: str
    def __init__(self, prompt: _Optional[str] = ..., lyrics: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[_song_pb2.Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[_song_pb2.Category, _Mapping]]] = ...) -> None: ...

class UpdateSongRequest(_message.Message):
    __slots__ = ("song", "update_mask")
    SONG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSongResponse(_message.Message):
    __slots__ = ("song",)
    SONG_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ...) -> None: ...

class DeleteSongRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class DeleteSongResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LikeSongRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class LikeSongResponse(_message.Message):
    __slots__ = ("like_count",)
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    like_count: int
    def __init__(self, like_count: _Optional[int] = ...) -> None: ...

class UnlikeSongRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class UnlikeSongResponse(_message.Message):
    __slots__ = ("like_count",)
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    like_count: int
    def __init__(self, like_count: _Optional[int] = ...) -> None: ...

class RecordPlayRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class RecordPlayResponse(_message.Message):
    __slots__ = ("play_count",)
    PLAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    play_count: int
    def __init__(self, play_count: _Optional[int] = ...) -> None: ...

class GetSongMediaRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class GetSongMediaResponse(_message.Message):
    __slots__ = ("audio_url", "audio_content_type", "cover_url", "expire_time", "peaks")
    AUDIO_URL_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COVER_URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    PEAKS_FIELD_NUMBER: _ClassVar[int]
    audio_url: str
    audio_content_type: str
    cover_url: str
    expire_time: _timestamp_pb2.Timestamp
    peaks: bytes
    def __init__(self, audio_url: _Optional[str] = ..., audio_content_type: _Optional[str] = ..., cover_url: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., peaks: _Optional[bytes] = ...) -> None: ...

class WatchSongRequest(_message.Message):
    __slots__ = ("song_id",)
    SONG_ID_FIELD_NUMBER: _ClassVar[int]
    song_id: str
    def __init__(self, song_id: _Optional[str] = ...) -> None: ...

class WatchSongResponse(_message.Message):
    __slots__ = ("song", "queue_position", "estimated_time_remaining")
    SONG_FIELD_NUMBER: _ClassVar[int]
    QUEUE_POSITION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TIME_REMAINING_FIELD_NUMBER: _ClassVar[int]
    song: _song_pb2.Song
    queue_position: int
    estimated_time_remaining: _duration_pb2.Duration
    def __init__(self, song: _Optional[_Union[_song_pb2.Song, _Mapping]] = ..., queue_position: _Optional[int] = ..., estimated_time_remaining: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenameOwnerRequest(_message.Message):
    __slots__ = ("user_id", "display_name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    display_name: str
    def __init__(self, user_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class RenameOwnerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteOwnerDataRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class DeleteOwnerDataResponse(_message.Message):
    __slots__ = ("deleted_songs",)
    DELETED_SONGS_FIELD_NUMBER: _ClassVar[int]
    deleted_songs: int
    def __init__(self, deleted_songs: _Optional[int] = ...) -> None: ...
