"""Browser sessions: the HttpOnly cookie holds usersvc's session token; each call
trades it for a short-lived identity token (AuthenticateSession, with the gateway's
service identity), cached until shortly before it expires.

A signed-out session's cached identity token still verifies, but every service
refuses it once it has read the revocation (runtime.revocations, polled every
`revocation_poll_seconds`): on another gateway replica, such a session may act for
about one poll; never on the replica that served the SignOut, which forgets the
session at once."""

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc

from neutone.v1 import user_service_pb2, user_service_pb2_grpc

_USERS = "/neutone.v1.UserService/"
SIGN_UP = _USERS + "SignUp"
CONFIRM_SIGN_UP = _USERS + "ConfirmSignUp"
SIGN_IN = _USERS + "SignIn"
SIGN_OUT = _USERS + "SignOut"
# Responses that carry a new session token, which goes into the cookie and never
# reaches the page's script.
_SESSION_RESPONSES = {
    CONFIRM_SIGN_UP: user_service_pb2.ConfirmSignUpResponse,
    SIGN_IN: user_service_pb2.SignInResponse,
}
# Calls after which the browser's session is over, whatever usersvc answered: the
# cookie goes and this replica forgets the session at once.
ENDING_METHODS = frozenset({SIGN_OUT, _USERS + "SignOutEverywhere", _USERS + "DeleteAccount"})
# Calls that change which session the browser holds: they need the CSRF checks
# even without a cookie (a forged sign-in would plant the attacker's session).
SESSION_METHODS = frozenset({SIGN_UP, CONFIRM_SIGN_UP, SIGN_IN, *ENDING_METHODS})
AUTHENTICATE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expire_time: datetime

    def max_age(self) -> int:
        return max(0, int((self.expire_time - datetime.now(UTC)).total_seconds()))


def take_session(method: str, response: bytes) -> tuple[bytes, NewSession | None]:
    """Removes the session token from a ConfirmSignUp/SignIn response; other
    responses pass unchanged."""
    message_type = _SESSION_RESPONSES.get(method)
    if message_type is None:
        return response, None
    message = message_type.FromString(response)
    session = NewSession(message.session_token, message.expire_time.ToDatetime(tzinfo=UTC))
    message.ClearField("session_token")
    return message.SerializeToString(), session


@dataclass(frozen=True, slots=True)
class _Cached:
    identity_token: str
    # time.monotonic() after which the token is fetched again.
    refresh_at: float


class Sessions:
    def __init__(
        self,
        users: user_service_pb2_grpc.UserServiceStub,
        *,
        cache_size: int,
        refresh_margin_seconds: float,
    ) -> None:
        self._users = users
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size
        self._margin = refresh_margin_seconds
        # A page load sends several calls at once; they share one lookup.
        self._pending: dict[str, asyncio.Task[str | None]] = {}

    async def identity_token(self, session_token: str, *, request_id: str) -> str | None:
        """The session's identity token; None when usersvc does not know the
        session (expired, revoked, or a made-up cookie)."""
        cached = self._cache.get(session_token)
        if cached is not None and cached.refresh_at > time.monotonic():
            self._cache.move_to_end(session_token)
            return cached.identity_token
        pending = self._pending.get(session_token)
        if pending is None:
            pending = asyncio.create_task(self._authenticate(session_token, request_id))
            self._pending[session_token] = pending
            pending.add_done_callback(lambda _: self._pending.pop(session_token, None))
        # shield: one caller going away must not cancel the lookup the others wait on.
        return await asyncio.shield(pending)

    async def _authenticate(self, session_token: str, request_id: str) -> str | None:
        try:
            reply = await self._users.AuthenticateSession(
                user_service_pb2.AuthenticateSessionRequest(session_token=session_token),
                timeout=AUTHENTICATE_TIMEOUT_SECONDS,
                metadata=(("x-request-id", request_id),),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                self.forget(session_token)
                return None
            raise
        lifetime = reply.expire_time.ToDatetime(tzinfo=UTC) - datetime.now(UTC)
        refresh_at = time.monotonic() + lifetime.total_seconds() - self._margin
        self._cache[session_token] = _Cached(reply.identity_token, refresh_at)
        self._cache.move_to_end(session_token)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return reply.identity_token

    def forget(self, session_token: str) -> None:
        self._cache.pop(session_token, None)
