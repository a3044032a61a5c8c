"""The account: sign up (and confirm the mailed link), sign in and out, who am I,
passwords (change, forgot, reset), the display name, deleting the account, and API
keys."""

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from cli.client import Auth, Client
from cli.credentials import Credential, CredentialKind, IdentityTokens
from cli.errors import CliError
from cli.output import Output, document_of, lines, next_page, when
from cli.parsing import Commands, add_paging
from neutone.v1 import api_key_pb2, user_pb2
from neutone.v1 import user_service_pb2 as pb

TOKEN_HELP = "the mailed link, or its token (one that begins with - goes after --)"


def register(commands: Commands) -> None:
    command = commands.add(
        "signup",
        signup,
        help="start an account: a link to confirm the address is mailed to it"
        " (password on stdin or prompted)",
    )
    command.add_argument("--email", required=True)
    command.add_argument("--name", required=True, help="the name shown on published songs")

    command = commands.add(
        "confirm", confirm, help="confirm a sign-up's mailed link: creates the account, signs in"
    )
    command.add_argument("token", metavar="TOKEN", help=TOKEN_HELP)

    command = commands.add("signin", signin, help="sign in (password on stdin or prompted)")
    command.add_argument("--email", required=True)

    command = commands.add("signout", signout, help="end the signed-in session and forget it")
    command.add_argument(
        "--everywhere",
        action="store_true",
        help="end every session of the account, on every device (API keys keep working)",
    )
    commands.add("whoami", whoami, help="the account the credentials belong to")

    command = commands.add(
        "forgot-password", forgot_password, help="mail a link to set a new password"
    )
    command.add_argument("email", metavar="EMAIL")
    command = commands.add(
        "reset-password",
        reset_password,
        help="set a new password with a mailed link (new password on stdin or prompted);"
        " every session of the account ends",
    )
    command.add_argument("token", metavar="TOKEN", help=TOKEN_HELP)
    commands.add(
        "passwd",
        passwd,
        help="change your password (current and new: two lines on stdin, or prompted);"
        " your other sessions end",
    )
    command = commands.add(
        "rename-account", rename_account, help="change the name shown on your songs"
    )
    command.add_argument("name", metavar="NAME", help="the new display name (1-50 characters)")
    command = commands.add(
        "delete-account",
        delete_account,
        help="delete your account for good: songs, uploads, likes, sessions and API keys"
        " (password on stdin or prompted)",
    )
    command.add_argument("--yes", action="store_true", help="yes, delete it: there is no undo")

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
    password = read_new_password("Password: ")
    request = pb.SignUpRequest(email=args.email, password=password, display_name=args.name)
    reply = client.call(client.users.SignUp, request, auth=Auth.NONE)
    # The same answer whether or not the address has an account already.
    out.reply(
        reply,
        f"a confirmation link was mailed to {args.email}: open it,"
        " or run `neutone confirm` with the link (or its token)",
    )


def confirm(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ConfirmSignUpRequest(token=token_of(args.token))
    _keep_session(client, out, client.call(client.users.ConfirmSignUp, request, auth=Auth.NONE))


def signin(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.SignInRequest(email=args.email, password=read_password())
    _keep_session(client, out, client.call(client.users.SignIn, request, auth=Auth.NONE))


def read_password(prompt: str = "Password: ") -> str:
    """One line of stdin when it is not a terminal (scripts), else a prompt without echo."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise CliError(f"stdin ended before the {prompt.rstrip(': ').lower()}")
    return line.rstrip("\r\n")


def read_new_password(prompt: str = "New password: ") -> str:
    """A new password: on a terminal, typed twice (an unseen typo would lock the
    account out); from stdin, one line."""
    password = read_password(prompt)
    if sys.stdin.isatty() and getpass.getpass("Again: ") != password:
        raise CliError("the passwords typed differ; nothing changed")
    return password


def token_of(token_or_link: str) -> str:
    """The token of a mailed link (`https://app/reset-password?token=...`) or the
    token itself."""
    if "://" not in token_or_link:
        return token_or_link
    tokens = parse_qs(urlsplit(token_or_link).query).get("token")
    if not tokens or not tokens[0]:
        raise CliError("the link has no token: paste the whole link from the mail")
    return tokens[0]


def _keep_session(
    client: Client, out: Output, reply: pb.ConfirmSignUpResponse | pb.SignInResponse
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
    if args.everywhere:
        _sign_out_everywhere(client, out)
        return
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


def _sign_out_everywhere(client: Client, out: Output) -> None:
    session = _session(client, "signing out everywhere")
    try:
        client.call(
            client.users.SignOutEverywhere,
            pb.SignOutEverywhereRequest(),
            metadata=session.metadata(),
        )
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNAUTHENTICATED:  # type: ignore[attr-defined]
            raise
        # This session has ended already (expired, or ended elsewhere): it can end
        # no others, and its local copy is of no more use.
        client.session_file.remove()
        raise CliError(
            "this session has ended already (forgotten now): sign in again,"
            " then `neutone signout --everywhere`"
        ) from None
    client.session_file.remove()
    out.reply(pb.SignOutEverywhereResponse(), "signed out everywhere: every session has ended")


def _session(client: Client, what: str) -> IdentityTokens:
    """The signed-in session's identity, even when NEUTONE_API_KEY is set: the
    account's sessions, password, name and existence are a session's to change,
    never an API key's. Checked before any password is asked for, so that nobody
    types one in vain; exchanged only once it is typed (a slow typist's token
    would expire)."""
    token = client.session_file.read()
    if token is None:
        raise CliError(
            f"{what} needs a signed-in session (an API key cannot):"
            " run `neutone signin --email you@example.com` first"
        )
    return IdentityTokens(client.exchange, Credential(CredentialKind.SESSION_TOKEN, token))


def forgot_password(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.RequestPasswordResetRequest(email=args.email)
    reply = client.call(client.users.RequestPasswordReset, request, auth=Auth.NONE)
    # The same answer whether or not the address has an account.
    out.reply(
        reply,
        f"if {args.email} has an account, a link to set a new password was mailed to it:"
        " open it, or run `neutone reset-password` with the link (or its token)",
    )


def reset_password(client: Client, out: Output, args: argparse.Namespace) -> None:
    token = token_of(args.token)
    request = pb.ResetPasswordRequest(token=token, new_password=read_new_password())
    reply = client.call(client.users.ResetPassword, request, auth=Auth.NONE)
    out.reply(
        reply,
        "password set; every session of the account has ended:"
        " sign in with the new password (`neutone signin`)",
    )


def passwd(client: Client, out: Output, args: argparse.Namespace) -> None:
    session = _session(client, "changing the password")
    request = pb.ChangePasswordRequest(
        current_password=read_password("Current password: "), new_password=read_new_password()
    )
    reply = client.call(client.users.ChangePassword, request, metadata=session.metadata())
    out.reply(reply, "password changed; your other sessions have ended, this one goes on")


def rename_account(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.UpdateCurrentUserRequest(
        user=user_pb2.User(display_name=args.name), update_mask=FieldMask(paths=["display_name"])
    )
    session = _session(client, "renaming the account")
    reply = client.call(client.users.UpdateCurrentUser, request, metadata=session.metadata())
    user = reply.user
    out.reply(reply, f"{user.email} is now shown as {user.display_name}")


def delete_account(client: Client, out: Output, args: argparse.Namespace) -> None:
    if not args.yes:
        raise CliError(
            "deleting the account is for good: its songs, uploads, likes and plays go,"
            " its sessions and API keys stop working, and nothing can bring them back."
            " Run `neutone delete-account --yes` to go ahead"
        )
    session = _session(client, "deleting the account")
    request = pb.DeleteAccountRequest(password=read_password())
    reply = client.call(client.users.DeleteAccount, request, metadata=session.metadata())
    client.session_file.remove()
    out.reply(reply, "account deleted; signed out")


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
