"""Working on a song after the first take: extend, repaint, cover, stems, the
songs made from one, uploads of one's own audio, and downloads in a format.

Each edit makes a new song (one credit, like `create`) that records its source:
a song id, or `--upload ID` for audio uploaded with `neutone upload`."""

import argparse
import mimetypes
import uuid
from pathlib import Path

import httpx

from cli.client import Auth, Client
from cli.commands.songs import (
    add_generation_params,
    add_lyrics,
    add_musical_controls,
    finish_creating,
    musical_controls,
    save_url,
)
from cli.errors import CliError
from cli.output import Output, label, lines, next_page
from cli.parsing import Commands, add_paging
from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb

UPLOAD_TIMEOUT_SECONDS = 300.0
FORMATS = {"flac": pb.AUDIO_FORMAT_FLAC, "wav": pb.AUDIO_FORMAT_WAV, "mp3": pb.AUDIO_FORMAT_MP3}
STEMS = {
    label(song_pb2.Stem, value): value
    for value in song_pb2.Stem.values()
    if value != song_pb2.STEM_UNSPECIFIED
}
# What the services accept, by file suffix, where Python's table has another name.
UPLOAD_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
}


def register(commands: Commands) -> None:
    command = commands.add("extend", extend, help="continue a song (one credit)")
    _add_source(command)
    command.add_argument("--seconds", type=float, required=True, help="the new part: 10-240 s")
    command.add_argument("--at-start", action="store_true", help="add it before the start")
    command.add_argument("--prompt", default="", help="the new part's style (else the source's)")
    add_lyrics(command, "the new part's lyrics (else it is instrumental)")
    _add_edit_options(command)

    command = commands.add("repaint", repaint, help="make a section of a song again (one credit)")
    _add_source(command)
    command.add_argument("--start", type=float, required=True, help="the section's start, s")
    command.add_argument("--end", type=float, required=True, help="the section's end, s")
    command.add_argument("--prompt", default="", help="the section's style (else the source's)")
    add_lyrics(command, "the section's lyrics (else the source's)")
    _add_edit_options(command)

    command = commands.add("cover", cover, help="the source's music in a new style (one credit)")
    _add_source(command)
    command.add_argument("--prompt", required=True, help="the new style")
    command.add_argument(
        "--strength", type=float, help="how closely to follow the source, 0-1 (0.5)"
    )
    add_lyrics(command, "lyrics to sing (else the source's)")
    add_musical_controls(command)
    _add_edit_options(command)

    command = commands.add(
        "stems", stems, help="split a song into vocals, drums, bass and the rest (one credit)"
    )
    _add_source(command)
    command.add_argument("--idempotency-key", help="retrying with the same key is the same song")
    command.add_argument("--wait", action="store_true", help="follow it until it is done")

    command = commands.add("derived", derived, help="the songs made from a song")
    command.add_argument("song_id")
    add_paging(command)

    command = commands.add(
        "upload", upload, help="upload audio (WAV, FLAC, MP3, OGG) to extend, repaint or cover"
    )
    command.add_argument("file", type=Path)

    command = commands.add("download", download, help="save a ready song's audio and cover")
    command.add_argument("song_id")
    command.add_argument("--format", choices=FORMATS, default="flac")
    command.add_argument("--stem", choices=STEMS, help="one stem of a stems song")
    command.add_argument("--out", type=Path, default=Path("."), help="the folder (made if missing)")


def _add_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("song_id", nargs="?", help="a ready song")
    source.add_argument("--upload", metavar="UPLOAD_ID", help="an upload of yours instead")


def _add_edit_options(parser: argparse.ArgumentParser) -> None:
    add_generation_params(parser, with_duration=False)
    parser.add_argument("--idempotency-key", help="retrying with the same key is the same song")
    parser.add_argument("--wait", action="store_true", help="follow it until it is done")


def _source(args: argparse.Namespace) -> song_pb2.SongSource:
    if args.upload:
        return song_pb2.SongSource(upload_id=args.upload)
    return song_pb2.SongSource(song_id=args.song_id)


def _common(args: argparse.Namespace) -> dict[str, object]:
    return {
        "source": _source(args),
        "params": song_pb2.GenerationParams(
            seed=args.seed, guidance_scale=args.guidance, inference_steps=args.steps
        ),
        "idempotency_key": args.idempotency_key or uuid.uuid4().hex,
    }


def _lyrics(args: argparse.Namespace) -> str:
    return args.lyrics_file.read_text() if args.lyrics_file else args.lyrics or ""


def extend(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ExtendSongRequest(
        extension_seconds=args.seconds,
        at_start=args.at_start,
        prompt=args.prompt,
        lyrics=_lyrics(args),
        **_common(args),
    )
    finish_creating(client, out, client.call(client.songs.ExtendSong, request), wait=args.wait)


def repaint(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.RepaintSongRequest(
        start_seconds=args.start,
        end_seconds=args.end,
        prompt=args.prompt,
        lyrics=_lyrics(args),
        **_common(args),
    )
    finish_creating(client, out, client.call(client.songs.RepaintSong, request), wait=args.wait)


def cover(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.CoverSongRequest(
        prompt=args.prompt,
        strength=args.strength,
        lyrics=_lyrics(args),
        controls=musical_controls(args),
        **_common(args),
    )
    finish_creating(client, out, client.call(client.songs.CoverSong, request), wait=args.wait)


def stems(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SeparateStemsRequest(
        source=_source(args), idempotency_key=args.idempotency_key or uuid.uuid4().hex
    )
    finish_creating(client, out, client.call(client.songs.SeparateStems, request), wait=args.wait)


def derived(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListDerivedSongsRequest(
        song_id=args.song_id, page_size=args.page_size, page_token=args.page_token
    )
    reply = client.call(client.songs.ListDerivedSongs, request)
    out.reply(
        reply,
        lines(
            *(
                f"{song.id}  {label(song_pb2.SongTask, song.lineage.task):<8} "
                f"{label(song_pb2.SongStatus, song.status):<10} {song.title or '(untitled)'}"
                for song in reply.songs
            ),
            next_page(reply.next_page_token),
        ),
    )


def upload(client: Client, out: Output, args: argparse.Namespace) -> None:
    """Creates the upload, posts the file where the service says (the object store
    or the gateway), and has the service check it."""
    path: Path = args.file
    data = path.read_bytes()
    content_type = (
        UPLOAD_TYPES.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or "application/octet-stream"
    )
    created = client.call(
        client.songs.CreateUpload,
        pb.CreateUploadRequest(filename=path.name, size_bytes=len(data), content_type=content_type),
    )
    try:
        posted = httpx.post(
            created.upload_url,
            data=dict(created.form_fields),
            files={"file": (path.name, data, content_type)},
            timeout=UPLOAD_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as error:
        raise CliError(f"uploading {path.name} failed: {error}") from None
    if not posted.is_success:
        raise CliError(f"uploading {path.name} failed: HTTP {posted.status_code} {posted.text}")
    reply = client.call(
        client.songs.CompleteUpload, pb.CompleteUploadRequest(upload_id=created.upload.id)
    )
    done = reply.upload
    out.reply(reply, f"uploaded {done.id} ({done.filename}, {done.duration_seconds:.1f} s)")


def download(client: Client, out: Output, args: argparse.Namespace) -> None:
    """Saves the audio under the name the service gives it (from the title), and
    the whole song's cover beside it."""
    request = pb.GetSongDownloadRequest(
        song_id=args.song_id,
        format=FORMATS[args.format],
        stem=STEMS[args.stem] if args.stem else song_pb2.STEM_UNSPECIFIED,
    )
    reply = client.call(client.songs.GetSongDownload, request, auth=Auth.OPTIONAL)
    args.out.mkdir(parents=True, exist_ok=True)
    audio = args.out / reply.filename
    saved = {"audio_path": save_url(reply.url, audio)}
    if not args.stem:
        media = client.call(
            client.songs.GetSongMedia,
            pb.GetSongMediaRequest(song_id=args.song_id),
            auth=Auth.OPTIONAL,
        )
        saved["cover_path"] = save_url(media.cover_url, audio.with_suffix(".png"))
    out.document(
        {"song_id": args.song_id, **saved}, lines(*(f"saved {path}" for path in saved.values()))
    )
