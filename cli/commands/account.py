"""The account: sign up, sign in and out, who am I, and API keys."""

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from cli.client import Auth, Client
from cli.credentials import Credential, CredentialKind, IdentityTokens
from cli.output import Output, document_of, lines, next_page, when
from cli.parsing import Commands, add_paging
from neutone.v1 import api_key_pb2
from neutone.v1 import user_service_pb2 as pb


def register(commands: Commands) -> None:
    command = commands.add(
        "signup", signup, help="create an account and sign in (password on stdin or prompted)"
    )
    command.add_argument("--email", required=True)
    command.add_argument("--name", required=True, help="the name shown on published songs")

    command = commands.add("signin", signin, help="sign in (password on stdin or prompted)")
    command.add_argument("--email", required=True)

    commands.add("signout", signout, help="end the signed-in session and forget it")
    commands.add("whoami", whoami, help="the account the credentials belong to")

    keys = commands.group("keys", help="API keys for scripts (NEUTONE_API_KEY)")
    command = keys.add("create", create_key, help="make a key; its secret is shown only now")
    command.add_argument("name", help="what the key is for")
    command.add_argument(
        "--expire-days", type=float, help="the key stops working after this many days (at most 366)"
    )
    add_paging(keys.add("list", list_keys, help="your keys, newest first, revoked ones included"))
    command = keys.add("revoke", revoke_key, help="revoke a key: its tokens stop working")
    command.add_argument("key_id")


def signup(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SignUpRequest(email=args.email, password=read_password(), display_name=args.name)
    _keep_session(client, out, client.call(client.users.SignUp, request, auth=Auth.NONE))


def signin(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SignInRequest(email=args.email, password=read_password())
    _keep_session(client, out, client.call(client.users.SignIn, request, auth=Auth.NONE))


def read_password() -> str:
    """One line of stdin when it is not a terminal (scripts), else a prompt without echo."""
    if sys.stdin.isatty():
        return getpass.getpass()
    return sys.stdin.readline().rstrip("\r\n")


def _keep_session(
    client: Client, out: Output, reply: pb.SignUpResponse | pb.SignInResponse
) -> None:
    client.session_file.save(reply.session_token)
    # The token lives in the session file only; output is often logged.
    document = {
        name: value for name, value in document_of(reply).items() if name != "session_token"
    }
    out.document(
        document,
        f"signed in as {reply.user.email} until {when(reply.expire_time)}"
        f" (session kept in {client.session_file.path})",
    )


def signout(client: Client, out: Output, args: argparse.Namespace) -> None:
    token = client.session_file.read()
    if token is not None:
        # This session's own identity, even when NEUTONE_API_KEY is set.
        session = IdentityTokens(client.exchange, Credential(CredentialKind.SESSION_TOKEN, token))
        try:
            client.call(client.users.SignOut, pb.SignOutRequest(), metadata=session.metadata())
        except grpc.RpcError as error:
            # A session that has ended already (expired, signed out elsewhere)
            # has nothing left to revoke; anything else must not lose the token.
            if error.code() != grpc.StatusCode.UNAUTHENTICATED:  # type: ignore[attr-defined]
                raise
        client.session_file.remove()
    out.reply(pb.SignOutResponse(), "signed out" if token else "not signed in")


def whoami(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.users.GetCurrentUser, pb.GetCurrentUserRequest())
    credential = client.tokens.credential
    via = "an API key" if credential and credential.kind is CredentialKind.API_KEY else "a session"
    user = reply.user
    out.reply(reply, f"{user.email} ({user.display_name}), account {user.id}, through {via}")


def create_key(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.CreateApiKeyRequest(display_name=args.name)
    if args.expire_days is not None:
        request.expire_time.CopyFrom(_days_from_now(args.expire_days))
    reply = client.call(client.users.CreateApiKey, request)
    out.reply(
        reply,
        lines(
            f"API key {reply.api_key.id} ({reply.api_key.display_name});"
            " its secret, shown only this once:",
            reply.secret,
        ),
    )


def _days_from_now(days: float) -> Timestamp:
    moment = Timestamp()
    moment.FromDatetime(datetime.now(UTC) + timedelta(days=days))
    return moment


def list_keys(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListApiKeysRequest(page_size=args.page_size, page_token=args.page_token)
    reply = client.call(client.users.ListApiKeys, request)
    out.reply(
        reply,
        lines(*map(key_line, reply.api_keys), next_page(reply.next_page_token)) or "no API keys",
    )


def key_line(key: api_key_pb2.ApiKey) -> str:
    if key.HasField("revoke_time"):
        state = f"revoked {when(key.revoke_time)}"
    elif key.HasField("expire_time"):
        state = f"expires {when(key.expire_time)}"
    else:
        state = "no expiry"
    used = f"last used {when(key.last_use_time)}" if key.HasField("last_use_time") else "never used"
    return f"{key.id}  {key.secret_prefix}...  {key.display_name}  ({state}, {used})"


def revoke_key(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.users.RevokeApiKey, pb.RevokeApiKeyRequest(api_key_id=args.key_id))
    out.reply(reply, f"revoked {reply.api_key.id} ({reply.api_key.display_name})")
