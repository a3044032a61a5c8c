"""The CLI's credentials: the session token that `neutone signin` keeps, or an API
key, exchanged through UserService's public CreateIdentityToken for the
short-lived identity tokens that every service accepts. The CLI never holds a
service's key."""

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cli.errors import CliError
from neutone.v1 import user_service_pb2

Metadata = tuple[tuple[str, str], ...]
# UserService.CreateIdentityToken, as the client calls it.
Exchange = Callable[
    [user_service_pb2.CreateIdentityTokenRequest], user_service_pb2.CreateIdentityTokenResponse
]

# A token is exchanged again once less than this share of its lifetime is left, so
# that a call never leaves with a token that expires on the way.
RENEW_WHEN_LEFT = 0.25
NOT_SIGNED_IN = "not signed in: run `neutone signin --email you@example.com` or set NEUTONE_API_KEY"


class CredentialKind(StrEnum):
    # The names of CreateIdentityTokenRequest's `credential` fields.
    SESSION_TOKEN = "session_token"
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Credential:
    kind: CredentialKind
    secret: str

    def exchange_request(self) -> user_service_pb2.CreateIdentityTokenRequest:
        return user_service_pb2.CreateIdentityTokenRequest(**{self.kind.value: self.secret})


class SessionFile:
    """The session token on disk, readable and writable by its owner only."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            return self.path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save(self, token: str) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A new file (mkstemp makes it 0600) renamed over the old one: the token is
        # never readable by others, even for a moment, whatever the old file's mode,
        # and a crash leaves the old session or the new one, never half of either.
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".session-")
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(token)
            os.replace(temporary, self.path)
        finally:
            Path(temporary).unlink(missing_ok=True)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class IdentityTokens:
    """Exchanges the credential for an identity token on first use, and again only
    when the token is close to expiring: a process makes one exchange however many
    calls it makes, and a long one (watching a song) renews in time."""

    def __init__(
        self,
        exchange: Exchange,
        credential: Credential | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exchange = exchange
        self.credential = credential
        self._clock = clock
        self._metadata: Metadata = ()
        self._renew_at = 0.0

    def metadata(self) -> Metadata:
        """`authorization` metadata with a fresh identity token; CliError without a credential."""
        if self.credential is None:
            raise CliError(NOT_SIGNED_IN)
        if not self._metadata or self._clock() >= self._renew_at:
            reply = self._exchange(self.credential.exchange_request())
            # The lifetime as the server states it, counted on the local monotonic
            # clock from now: a wall clock that jumps cannot make a stale token look fresh.
            lifetime = (reply.expire_time.ToDatetime(UTC) - datetime.now(UTC)).total_seconds()
            self._renew_at = self._clock() + max(lifetime, 0) * (1 - RENEW_WHEN_LEFT)
            self._metadata = (("authorization", f"Bearer {reply.identity_token}"),)
        return self._metadata
