"""Songs to take away: the FLAC master, or WAV or MP3 (320 kbps) made from it on
the first request and kept beside it, at a time-limited URL that downloads the
file under a name from the song's title."""

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.errors import ResourceExhausted
from runtime.objectstore import ObjectStore
from runtime.threads import BoundedThreads, Busy
from songsvc import files
from songsvc.audio import convert
from songsvc.records import AudioFormat, Song, StemName

CONTENT_TYPES = {
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.WAV: "audio/wav",
    AudioFormat.MP3: "audio/mpeg",
}
MAX_FILENAME_CHARS = 100
# Characters no file system or browser takes in a file name.
UNSAFE_IN_FILENAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass(frozen=True, slots=True)
class Download:
    url: str
    filename: str
    content_type: str
    expire_time: datetime


def filename(song: Song, stem: StemName | None, audio_format: AudioFormat) -> str:
    name = " ".join(UNSAFE_IN_FILENAMES.sub(" ", song.title).split()).strip(".") or "Neutone song"
    name = name[:MAX_FILENAME_CHARS].strip()
    if stem is not None:
        name = f"{name} - {stem}"
    return f"{name}.{audio_format}"


class Downloads:
    def __init__(
        self, objects: ObjectStore, *, url_ttl_seconds: int, conversions_at_once: int
    ) -> None:
        self._objects = objects
        self._url_ttl_seconds = url_ttl_seconds
        # A conversion holds the whole song decoded (a 10-minute song is ~230 MB).
        self._conversions = BoundedThreads(
            conversions_at_once, name="download-conversion", typical_seconds=2.0
        )

    async def of(
        self,
        song: Song,
        *,
        audio_format: AudioFormat,
        stem: StemName | None,
        finish_by: float | None,
    ) -> Download:
        """Where to download the song (or its stem) in that format."""
        master = files.audio_key(song.id, stem)
        key = master.removesuffix(".flac") + f".{audio_format}"
        if audio_format is not AudioFormat.FLAC and await self._objects.size(key) is None:
            # Two first requests at once both convert and both store the same file.
            flac = await self._objects.get(master)
            try:
                converted = await self._conversions.run(
                    lambda: convert(flac, audio_format), finish_by=finish_by
                )
            except Busy as busy:
                raise ResourceExhausted(
                    "too many downloads are being prepared; try again shortly",
                    reason="DOWNLOADS_BUSY",
                    retry_after_seconds=math.ceil(busy.retry_after_seconds),
                ) from None
            await self._objects.put(key, converted, content_type=CONTENT_TYPES[audio_format])
        expires_at = int(time.time()) + self._url_ttl_seconds
        name = filename(song, stem, audio_format)
        return Download(
            url=self._objects.url(key, expires_at=expires_at, filename=name),
            filename=name,
            content_type=CONTENT_TYPES[audio_format],
            expire_time=datetime.fromtimestamp(expires_at, UTC),
        )
