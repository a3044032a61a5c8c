"""The services as the CLI calls them: one channel each, straight to the service
ports, with the caller's identity token where the call needs one."""

from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from cli.credentials import Credential, CredentialKind, IdentityTokens, Metadata, SessionFile
from cli.settings import CliSettings
from neutone.v1 import (
    billing_service_pb2_grpc,
    song_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

# A unary call's deadline: a service that does not answer fails the command
# instead of hanging a script.
CALL_TIMEOUT_SECONDS = 30.0

ReplyT = TypeVar("ReplyT", bound=Message)


class Auth(Enum):
    # The call carries no identity (signing in, exchanging a credential).
    NONE = "none"
    # A PUBLIC RPC: with the caller's identity when there is a credential (a feed
    # that shows what they liked, their own private song), anonymous otherwise.
    OPTIONAL = "optional"
    # A USER RPC: the command fails without a credential.
    REQUIRED = "required"


class Client:
    def __init__(self, settings: CliSettings) -> None:
        self._channels = [
            grpc.insecure_channel(address)
            for address in (
                settings.usersvc_address,
                settings.songsvc_address,
                settings.billingsvc_address,
            )
        ]
        users, songs, billing = self._channels
        self.users = user_service_pb2_grpc.UserServiceStub(users)
        self.songs = song_service_pb2_grpc.SongServiceStub(songs)
        self.billing = billing_service_pb2_grpc.BillingServiceStub(billing)
        self.session_file = SessionFile(settings.cli_session_file)
        self.tokens = IdentityTokens(self.exchange, credential_from(settings, self.session_file))

    def call(
        self,
        method: Callable[..., ReplyT],
        request: Message,
        *,
        auth: Auth = Auth.REQUIRED,
        metadata: Metadata | None = None,
    ) -> ReplyT:
        """A unary call under the CLI's deadline; `metadata` replaces the identity
        that `auth` would choose (signing out one particular session)."""
        metadata = metadata if metadata is not None else self._metadata(auth)
        return method(request, metadata=metadata, timeout=CALL_TIMEOUT_SECONDS)

    def stream(self, method: Callable[..., Iterator[Any]], request: Message) -> Iterator[Any]:
        """A server stream (WatchSong) as the caller: no deadline, the service bounds it."""
        return method(request, metadata=self._metadata(Auth.REQUIRED))

    def _metadata(self, auth: Auth) -> Metadata:
        if auth is Auth.NONE or (auth is Auth.OPTIONAL and self.tokens.credential is None):
            return ()
        return self.tokens.metadata()

    def exchange(
        self, request: user_service_pb2.CreateIdentityTokenRequest
    ) -> user_service_pb2.CreateIdentityTokenResponse:
        return self.call(self.users.CreateIdentityToken, request, auth=Auth.NONE)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


def credential_from(settings: CliSettings, session_file: SessionFile) -> Credential | None:
    """NEUTONE_API_KEY when set (an environment variable is the more deliberate
    choice), else the signed-in session."""
    if settings.api_key is not None:
        return Credential(CredentialKind.API_KEY, settings.api_key.get_secret_value())
    session = session_file.read()
    return Credential(CredentialKind.SESSION_TOKEN, session) if session else None
