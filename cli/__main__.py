"""neutone: sign in, create songs, watch them being made, download and list them,
talking gRPC straight to the services.

It holds no service's key: it signs in (or uses NEUTONE_API_KEY) and exchanges
that credential for short-lived identity tokens through UserService's public
CreateIdentityToken, like any internal client."""

import argparse
import getpass
import os
import sys
import uuid
from pathlib import Path

import grpc
import httpx

from neutone.v1 import song_pb2, song_service_pb2_grpc, user_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb
from runtime.errors import error_reason

SESSION_FILE = Path(
    os.environ.get("NEUTONE_CLI_SESSION_FILE", Path.home() / ".config" / "neutone" / "session")
)
STATUS_NAMES = {
    value: name.removeprefix("SONG_STATUS_").lower() for name, value in song_pb2.SongStatus.items()
}
STAGE_NAMES = {
    value: name.removeprefix("GENERATION_STAGE_").lower()
    for name, value in song_pb2.GenerationStage.items()
}
BAR_WIDTH = 30


class Client:
    def __init__(self) -> None:
        self.users = user_service_pb2_grpc.UserServiceStub(
            grpc.insecure_channel(os.environ.get("NEUTONE_USERSVC_ADDRESS", "127.0.0.1:50051"))
        )
        self.songs = song_service_pb2_grpc.SongServiceStub(
            grpc.insecure_channel(os.environ.get("NEUTONE_SONGSVC_ADDRESS", "127.0.0.1:50052"))
        )

    def user_metadata(self) -> tuple[tuple[str, str], ...]:
        api_key = os.environ.get("NEUTONE_API_KEY")
        if api_key:
            request = user_pb.CreateIdentityTokenRequest(api_key=api_key)
        elif SESSION_FILE.exists():
            request = user_pb.CreateIdentityTokenRequest(
                session_token=SESSION_FILE.read_text().strip()
            )
        else:
            raise SystemExit(
                "not signed in: run `neutone signin --email you@example.com` or set NEUTONE_API_KEY"
            )
        exchanged = self.users.CreateIdentityToken(request)
        return (("authorization", f"Bearer {exchanged.identity_token}"),)


def save_session(token: str) -> None:
    SESSION_FILE.parent.mkdir(parents=True, exist_ok=True)
    SESSION_FILE.touch(mode=0o600)
    SESSION_FILE.write_text(token)


def signup(client: Client, args: argparse.Namespace) -> None:
    reply = client.users.SignUp(
        user_pb.SignUpRequest(email=args.email, password=_password(), display_name=args.name)
    )
    save_session(reply.session_token)
    print(f"signed up and in as {reply.user.email}")


def signin(client: Client, args: argparse.Namespace) -> None:
    reply = client.users.SignIn(user_pb.SignInRequest(email=args.email, password=_password()))
    save_session(reply.session_token)
    print(f"signed in as {reply.user.email}")


def _password() -> str:
    return sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()


def create(client: Client, args: argparse.Namespace) -> None:
    if args.description:
        mode = {"description": args.description}
    elif args.lyrics is not None:
        mode = {"custom_lyrics": song_pb.CustomLyrics(prompt=args.prompt, lyrics=args.lyrics)}
    else:
        mode = {
            "described_lyrics": song_pb.DescribedLyrics(
                prompt=args.prompt, lyrics_description=args.describe_lyrics or ""
            )
        }
    request = song_pb.CreateSongRequest(
        **mode,
        instrumental=args.instrumental,
        params=song_pb2.GenerationParams(
            duration_seconds=args.duration,
            seed=args.seed,
            guidance_scale=args.guidance,
            inference_steps=args.steps,
        ),
        idempotency_key=uuid.uuid4().hex,
    )
    song = client.songs.CreateSong(request, metadata=client.user_metadata()).song
    print(f"created {song.id}")
    if args.wait:
        _watch(client, song.id)


def watch(client: Client, args: argparse.Namespace) -> None:
    _watch(client, args.song_id)


def _watch(client: Client, song_id: str) -> None:
    metadata = client.user_metadata()
    song = None
    for update in client.songs.WatchSong(
        song_pb.WatchSongRequest(song_id=song_id), metadata=metadata
    ):
        song = update.song
        filled = int(song.progress * BAR_WIDTH)
        detail = f"queue position {update.queue_position}" if update.queue_position else ""
        if update.HasField("estimated_time_remaining"):
            detail += f" ~{update.estimated_time_remaining.seconds}s left"
        print(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {song.progress:4.0%} "
            f"{STAGE_NAMES[song.stage]:<10} {detail:<40}",
            end="",
            flush=True,
        )
    print()
    if song is not None:
        print(f"{song.title or song.id}: {STATUS_NAMES[song.status]} {song.failure_reason}")


def download(client: Client, args: argparse.Namespace) -> None:
    media = client.songs.GetSongMedia(
        song_pb.GetSongMediaRequest(song_id=args.song_id), metadata=client.user_metadata()
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for url, name in ((media.audio_url, "audio.flac"), (media.cover_url, "cover.png")):
        response = httpx.get(url, timeout=60)
        response.raise_for_status()
        (out / f"{args.song_id}-{name}").write_bytes(response.content)
        print(f"saved {out / f'{args.song_id}-{name}'}")


def list_songs(client: Client, args: argparse.Namespace) -> None:
    reply = client.songs.ListMySongs(
        song_pb.ListMySongsRequest(page_size=args.limit), metadata=client.user_metadata()
    )
    for song in reply.songs:
        categories = ", ".join(song.categories)
        print(
            f"{song.id}  {STATUS_NAMES[song.status]:<10} {song.title or '(untitled)':<30} {categories}"
        )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="neutone", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    command = commands.add_parser(
        "signup", help="create an account (password on stdin or prompted)"
    )
    command.add_argument("--email", required=True)
    command.add_argument("--name", required=True)
    command.set_defaults(run=signup)

    command = commands.add_parser("signin", help="sign in (password on stdin or prompted)")
    command.add_argument("--email", required=True)
    command.set_defaults(run=signin)

    command = commands.add_parser("create", help="create a song")
    what = command.add_mutually_exclusive_group(required=True)
    what.add_argument("--description", help="describe the whole song")
    what.add_argument("--prompt", help="the musical style (with --lyrics or --describe-lyrics)")
    lyrics = command.add_mutually_exclusive_group()
    lyrics.add_argument("--lyrics", help="the lyrics themselves")
    lyrics.add_argument("--describe-lyrics", help="what the lyrics should be about")
    command.add_argument("--instrumental", action="store_true")
    command.add_argument("--duration", type=float, default=0, help="seconds, 10-240")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--guidance", type=float, default=0)
    command.add_argument("--steps", type=int, default=0)
    command.add_argument("--wait", action="store_true", help="watch it until it is done")
    command.set_defaults(run=create)

    command = commands.add_parser("watch", help="follow a song until it is ready")
    command.add_argument("song_id")
    command.set_defaults(run=watch)

    command = commands.add_parser("download", help="save a ready song's audio and cover")
    command.add_argument("song_id")
    command.add_argument("--out", default=".")
    command.set_defaults(run=download)

    command = commands.add_parser("list", help="list your songs, newest first")
    command.add_argument("--limit", type=int, default=20)
    command.set_defaults(run=list_songs)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(Client(), args)
    except grpc.RpcError as error:
        reason = error_reason(error)
        suffix = f" ({reason})" if reason else ""
        raise SystemExit(f"error: {error.code().name}: {error.details()}{suffix}") from None


if __name__ == "__main__":
    main()
