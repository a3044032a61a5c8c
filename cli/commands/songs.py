"""Songs: create (in the three modes, in takes), lyrics to start from, follow,
fetch, list, the feed, search, artists, liked songs, and what an owner or a
listener does with a song."""

import argparse
import os
import uuid
from pathlib import Path

import httpx
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from cli.client import Auth, Client
from cli.errors import CliError
from cli.output import Output, document_of, label, lines, next_page, when
from cli.parsing import Commands, add_paging
from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb

TERMINAL = {song_pb2.SONG_STATUS_READY, song_pb2.SONG_STATUS_FAILED}
BAR_WIDTH = 30
DOWNLOAD_TIMEOUT_SECONDS = 60.0
FEED_ORDERS = {
    label(pb.FeedOrder, value): value
    for value in pb.FeedOrder.values()
    if value != pb.FEED_ORDER_UNSPECIFIED
}
MY_SONGS_ORDERS = {
    label(pb.MySongsOrder, value): value
    for value in pb.MySongsOrder.values()
    if value != pb.MY_SONGS_ORDER_UNSPECIFIED
}
STATUSES = {
    label(song_pb2.SongStatus, value): value
    for value in song_pb2.SongStatus.values()
    if value != song_pb2.SONG_STATUS_UNSPECIFIED
}


def register(commands: Commands) -> None:
    command = commands.add("create", create, help="create a song (one credit a take)")
    mode = command.add_mutually_exclusive_group(required=True)
    mode.add_argument("--description", help="describe the whole song")
    mode.add_argument("--prompt", help="the musical style, with lyrics or what they are about")
    lyrics = add_lyrics(command, "the lyrics themselves ([verse], [chorus] tags)")
    lyrics.add_argument("--describe-lyrics", help="what the lyrics should be about")
    command.add_argument("--instrumental", action="store_true", help="no vocals")
    command.add_argument(
        "--takes", type=int, default=0, help="1-4 takes, each a song with its own seed"
    )
    command.add_argument(
        "--reference", metavar="UPLOAD_ID", default="", help="an upload whose style to take"
    )
    add_generation_params(command, with_duration=True)
    add_musical_controls(command)
    command.add_argument(
        "--idempotency-key",
        help="retrying with the same key returns the first song (random if unset)",
    )
    command.add_argument("--wait", action="store_true", help="follow it until it is done")

    command = commands.add("watch", watch, help="follow a song until it is ready or failed")
    command.add_argument("song_id")

    command = commands.add("get", get, help="a song of yours, or a published one")
    command.add_argument("song_id")

    command = commands.add("lyrics", suggest_lyrics, help="lyrics to edit, then create (free)")
    command.add_argument("description", help="what the song is about")
    command.add_argument("--prompt", default="", help="the musical style (proposed if unset)")
    command.add_argument("--duration", type=float, default=0, help="seconds the song will last")
    command.add_argument("--seed", type=int, default=0)

    command = commands.add("list", list_songs, help="your songs, newest first")
    command.add_argument("--text", default="", help="only songs matching these words")
    command.add_argument("--status", choices=STATUSES, help="only songs in this status")
    command.add_argument("--order", choices=MY_SONGS_ORDERS, default="newest")
    add_paging(command)

    command = commands.add("search", search, help="find published songs")
    command.add_argument("query", help="words of titles, artists, styles or lyrics")
    add_paging(command)

    command = commands.add("artist", artist, help="an artist and their published songs")
    command.add_argument("artist_id", help="the artist's id: a song's owner id")
    add_paging(command)

    add_paging(commands.add("liked", liked, help="songs you like, newest like first"))

    command = commands.add("feed", feed, help="published songs")
    command.add_argument("--category", default="", help="a category id (see `categories`)")
    command.add_argument("--order", choices=FEED_ORDERS, default="newest")
    add_paging(command)

    commands.add("categories", categories, help="the genre categories")

    command = commands.add("rename", rename, help="give your song a new title")
    command.add_argument("song_id")
    command.add_argument("title")
    for name, run, text in (
        ("publish", publish, "put your song in the public feed"),
        ("unpublish", unpublish, "take your song out of the feed"),
        ("allow-remix", allow_remix, "let anyone cover your published song (the default)"),
        ("forbid-remix", forbid_remix, "let no one else cover your song"),
        ("delete", delete, "delete your song, its audio and cover"),
        ("like", like, "like a song"),
        ("unlike", unlike, "take your like back"),
        ("play", play, "count a play of a song"),
        ("media", media, "time-limited URLs of a ready song's audio and cover"),
    ):
        commands.add(name, run, help=text).add_argument("song_id")


def add_lyrics(parser: argparse.ArgumentParser, text: str) -> argparse._MutuallyExclusiveGroup:
    lyrics = parser.add_mutually_exclusive_group()
    lyrics.add_argument("--lyrics", help=text)
    lyrics.add_argument("--lyrics-file", type=Path, help="the lyrics from a file")
    return lyrics


def add_generation_params(parser: argparse.ArgumentParser, *, with_duration: bool) -> None:
    params = parser.add_argument_group("model settings (0: the default)")
    if with_duration:
        params.add_argument("--duration", type=float, default=0, help="seconds")
    params.add_argument("--seed", type=int, default=0)
    params.add_argument("--guidance", type=float, default=0, help="guidance scale")
    params.add_argument("--steps", type=int, default=0, help="inference steps")


def add_musical_controls(parser: argparse.ArgumentParser) -> None:
    controls = parser.add_argument_group("musical controls (proposed when not given)")
    controls.add_argument("--bpm", type=int, default=0, help="tempo: 30-300")
    controls.add_argument("--key", default="", help='key and scale, e.g. "F# minor"')
    controls.add_argument(
        "--time-signature", type=int, default=0, help="beats per bar: 2, 3, 4 or 6"
    )
    controls.add_argument("--language", default="", help='the language sung, e.g. "en", "ja"')


def musical_controls(args: argparse.Namespace) -> song_pb2.MusicalControls:
    return song_pb2.MusicalControls(
        bpm=args.bpm,
        key_scale=args.key,
        time_signature=args.time_signature,
        vocal_language=args.language,
    )


def create(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.CreateSongRequest(
        instrumental=args.instrumental,
        params=song_pb2.GenerationParams(
            duration_seconds=args.duration,
            seed=args.seed,
            guidance_scale=args.guidance,
            inference_steps=args.steps,
        ),
        idempotency_key=args.idempotency_key or uuid.uuid4().hex,
        takes=args.takes,
        controls=musical_controls(args),
        reference_upload_id=args.reference,
    )
    lyrics = args.lyrics_file.read_text() if args.lyrics_file else args.lyrics
    if args.description is not None:
        if lyrics is not None or args.describe_lyrics is not None:
            raise CliError("--lyrics, --lyrics-file and --describe-lyrics go with --prompt")
        request.description = args.description
    elif lyrics is not None:
        request.custom_lyrics.CopyFrom(pb.CustomLyrics(prompt=args.prompt, lyrics=lyrics))
    else:
        request.described_lyrics.CopyFrom(
            pb.DescribedLyrics(prompt=args.prompt, lyrics_description=args.describe_lyrics or "")
        )
    reply = client.call(client.songs.CreateSong, request)
    if len(reply.songs) > 1:
        ids = [song.id for song in reply.songs]
        if args.wait:
            for song_id in ids:
                out.note(f"created {song_id}")
            for song_id in ids:
                follow(client, out, song_id)
        else:
            out.reply(reply, lines(*(f"created {song_id}" for song_id in ids)))
        return
    finish_creating(client, out, reply, wait=args.wait)


def finish_creating(client: Client, out: Output, reply: Message, *, wait: bool) -> None:
    """The end of a command that queued one song (`reply.song`): its id, or, with
    `wait`, its progress until it is done."""
    song = reply.song  # type: ignore[attr-defined]
    if wait:
        out.note(f"created {song.id}")
        follow(client, out, song.id)
    else:
        out.reply(reply, f"created {song.id} ({label(song_pb2.SongStatus, song.status)})")


def watch(client: Client, out: Output, args: argparse.Namespace) -> None:
    follow(client, out, args.song_id)


def follow(client: Client, out: Output, song_id: str) -> None:
    """Shows the song's progress until it is READY or FAILED; that last state is the
    result, and FAILED fails the command."""
    final = None
    while final is None:
        # A stream lasts at most NEUTONE_WATCH_MAX_SECONDS and may end before the
        # song does; a new one (with a renewed token) resumes from the current state.
        final = _watch_once(client, out, song_id)
    song = final.song
    out.reply(final, f"{song.id} {song.title}: {label(song_pb2.SongStatus, song.status)}")
    if song.status == song_pb2.SONG_STATUS_FAILED:
        raise CliError(f"song {song.id} failed: {song.failure_reason}")


def _watch_once(client: Client, out: Output, song_id: str) -> pb.WatchSongResponse | None:
    """The song's final state, or None when the stream ended first."""
    received = False
    for update in client.stream(client.songs.WatchSong, pb.WatchSongRequest(song_id=song_id)):
        received = True
        if update.song.status in TERMINAL:
            return update
        out.progress(progress_line(update))
    if not received:
        raise CliError(f"the watch of {song_id} ended without any state")
    return None


def progress_line(update: pb.WatchSongResponse) -> str:
    song = update.song
    filled = int(song.progress * BAR_WIDTH)
    detail = f"queue position {update.queue_position}" if update.queue_position else ""
    if update.HasField("estimated_time_remaining"):
        detail += f" ~{update.estimated_time_remaining.seconds}s left"
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {song.progress:4.0%} "
        f"{label(song_pb2.GenerationStage, song.stage):<10} {detail.strip():<40}"
    )


def get(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.GetSongRequest(song_id=args.song_id)
    reply = client.call(client.songs.GetSong, request, auth=Auth.OPTIONAL)
    song = reply.song
    out.reply(
        reply,
        lines(
            f"{song.title or '(untitled)'}  [{song.id}]",
            f"status: {label(song_pb2.SongStatus, song.status)}"
            f" ({label(song_pb2.GenerationStage, song.stage)}, {song.progress:.0%})",
            f"failed: {song.failure_reason}" if song.failure_reason else "",
            f"by {song.owner_display_name}, created {when(song.create_time)}",
            f"categories: {', '.join(song.categories)}" if song.categories else "",
            f"made with: {controls_text(song.controls)}" if controls_text(song.controls) else "",
            lineage_text(song.lineage),
            f"{'published' if song.published else 'private'}, {song.like_count} likes,"
            f" {song.play_count} plays",
        ),
    )


def controls_text(controls: song_pb2.MusicalControls) -> str:
    return ", ".join(
        part
        for part in (
            f"{controls.bpm} bpm" if controls.bpm else "",
            controls.key_scale,
            f"{controls.time_signature} beats a bar" if controls.time_signature else "",
            f"sung in {controls.vocal_language}" if controls.vocal_language else "",
        )
        if part
    )


def lineage_text(lineage: song_pb2.SongLineage) -> str:
    """Where an edit came from; nothing for a song made from a description."""
    if lineage.task in (song_pb2.SONG_TASK_UNSPECIFIED, song_pb2.SONG_TASK_TEXT_TO_MUSIC):
        return ""
    source = lineage.source_song_id or f"upload {lineage.source_upload_id}"
    text = f"{label(song_pb2.SongTask, lineage.task)} of {source}"
    if lineage.task in (song_pb2.SONG_TASK_REPAINT, song_pb2.SONG_TASK_EXTEND):
        text += f" ({lineage.section_start_seconds:g}-{lineage.section_end_seconds:g} s)"
    return text


def song_line(song: song_pb2.Song) -> str:
    return (
        f"{song.id}  {label(song_pb2.SongStatus, song.status):<10} "
        f"{song.title or '(untitled)':<30} {song.like_count:>4} likes {song.play_count:>5} plays  "
        f"{', '.join(song.categories)}"
    )


def public_song_line(song: song_pb2.Song) -> str:
    """A published song, with its artist: a line of search results or likes."""
    return (
        f"{song.id}  {song.title or '(untitled)':<30} by {song.owner_display_name:<20} "
        f"{song.like_count:>4} likes {song.play_count:>5} plays"
    )


def suggest_lyrics(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SuggestLyricsRequest(
        description=args.description,
        prompt=args.prompt,
        duration_seconds=args.duration,
        seed=args.seed,
    )
    reply = client.call(client.songs.SuggestLyrics, request)
    # A blank line before the lyrics, which can then be cut out as they are.
    out.reply(reply, lines(f"title: {reply.title}", f"style: {reply.prompt}\n", reply.lyrics))


def list_songs(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListMySongsRequest(
        page_size=args.page_size,
        page_token=args.page_token,
        text_filter=args.text,
        status=STATUSES[args.status] if args.status else song_pb2.SONG_STATUS_UNSPECIFIED,
        order=MY_SONGS_ORDERS[args.order],
    )
    reply = client.call(client.songs.ListMySongs, request)
    out.reply(reply, lines(*map(song_line, reply.songs), next_page(reply.next_page_token)))


def search(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SearchSongsRequest(
        query=args.query, page_size=args.page_size, page_token=args.page_token
    )
    reply = client.call(client.songs.SearchSongs, request, auth=Auth.OPTIONAL)
    out.reply(
        reply,
        lines(*map(public_song_line, reply.songs), next_page(reply.next_page_token))
        or "no songs found",
    )


def artist(client: Client, out: Output, args: argparse.Namespace) -> None:
    profile = client.call(
        client.songs.GetArtist, pb.GetArtistRequest(artist_id=args.artist_id), auth=Auth.OPTIONAL
    ).artist
    request = pb.ListArtistSongsRequest(
        artist_id=args.artist_id, page_size=args.page_size, page_token=args.page_token
    )
    page = client.call(client.songs.ListArtistSongs, request, auth=Auth.OPTIONAL)
    # One document: the artist, and a page of their songs as ListArtistSongs gives it.
    out.document(
        {"artist": document_of(profile), **document_of(page)},
        lines(
            f"{profile.display_name}  [{profile.id}]",
            f"{profile.published_song_count} songs, {profile.like_count} likes,"
            f" {profile.play_count} plays, since {when(profile.first_publish_time)}",
            "",
            *map(song_line, page.songs),
            next_page(page.next_page_token),
        ),
    )


def liked(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListLikedSongsRequest(page_size=args.page_size, page_token=args.page_token)
    reply = client.call(client.songs.ListLikedSongs, request)
    out.reply(reply, lines(*map(public_song_line, reply.songs), next_page(reply.next_page_token)))


def feed(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListFeedRequest(
        page_size=args.page_size,
        page_token=args.page_token,
        category=args.category,
        order=FEED_ORDERS[args.order],
    )
    reply = client.call(client.songs.ListFeed, request, auth=Auth.OPTIONAL)
    out.reply(reply, lines(*map(song_line, reply.songs), next_page(reply.next_page_token)))


def categories(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.songs.ListCategories, pb.ListCategoriesRequest(), auth=Auth.NONE)
    out.reply(reply, lines(*(f"{c.id:<16} {c.display_name}" for c in reply.categories)))


def rename(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _update(client, song_pb2.Song(id=args.song_id, title=args.title), "title")
    out.reply(reply, f"renamed {reply.song.id}: {reply.song.title}")


def publish(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _update(client, song_pb2.Song(id=args.song_id, published=True), "published")
    out.reply(reply, f"published {reply.song.id}")


def unpublish(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _update(client, song_pb2.Song(id=args.song_id, published=False), "published")
    out.reply(reply, f"unpublished {reply.song.id}")


def allow_remix(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _update(client, song_pb2.Song(id=args.song_id, remix_allowed=True), "remix_allowed")
    out.reply(reply, f"covers of {reply.song.id} allowed")


def forbid_remix(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _update(client, song_pb2.Song(id=args.song_id, remix_allowed=False), "remix_allowed")
    out.reply(reply, f"covers of {reply.song.id} forbidden")


def _update(client: Client, song: song_pb2.Song, field: str) -> pb.UpdateSongResponse:
    request = pb.UpdateSongRequest(song=song, update_mask=FieldMask(paths=[field]))
    return client.call(client.songs.UpdateSong, request)


def delete(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.songs.DeleteSong, pb.DeleteSongRequest(song_id=args.song_id))
    out.reply(reply, f"deleted {args.song_id}")


def like(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.songs.LikeSong, pb.LikeSongRequest(song_id=args.song_id))
    out.reply(reply, f"{args.song_id}: {reply.like_count} likes")


def unlike(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.songs.UnlikeSong, pb.UnlikeSongRequest(song_id=args.song_id))
    out.reply(reply, f"{args.song_id}: {reply.like_count} likes")


def play(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.RecordPlayRequest(song_id=args.song_id)
    reply = client.call(client.songs.RecordPlay, request, auth=Auth.OPTIONAL)
    out.reply(reply, f"{args.song_id}: {reply.play_count} plays")


def _media(client: Client, song_id: str) -> pb.GetSongMediaResponse:
    request = pb.GetSongMediaRequest(song_id=song_id)
    return client.call(client.songs.GetSongMedia, request, auth=Auth.OPTIONAL)


def media(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = _media(client, args.song_id)
    out.reply(
        reply,
        lines(
            f"audio ({reply.audio_content_type}): {reply.audio_url}",
            f"cover: {reply.cover_url}",
            f"until {when(reply.expire_time)}",
        ),
    )


def save_url(url: str, path: Path) -> str:
    """Streams `url` into `path`; a failed download leaves no file behind."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        # Created like any file the user makes (the umask applies), and only complete
        # files take the final name.
        with (
            open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as file,
            httpx.stream("GET", url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response,
        ):
            if response.status_code != httpx.codes.OK:
                raise CliError(f"downloading {path.name} failed: HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                file.write(chunk)
        partial.replace(path)
    except httpx.HTTPError as error:
        raise CliError(f"downloading {path.name} failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return str(path)
