"""Where a song's files live in the object store: all under songs/<id>/, at keys that follow
from the song alone, so a retried job overwrites (never duplicates) what it stored and a
deleted song's files can all be found."""

from uuid import UUID

from runtime.objectstore import ObjectStore
from songsvc.records import StemName


def folder(song_id: UUID) -> str:
    return f"songs/{song_id}/"


def audio_key(song_id: UUID, stem: StemName | None = None) -> str:
    """The FLAC master of the song, or of one of its stems."""
    return folder(song_id) + (f"stems/{stem}.flac" if stem else "audio.flac")


def cover_key(song_id: UUID) -> str:
    return folder(song_id) + "cover.png"


async def delete_all(objects: ObjectStore, song_id: UUID) -> None:
    """Deletes every file of the song: masters, stems, cover and converted downloads."""
    for key in await objects.keys(folder(song_id)):
        await objects.delete(key)
