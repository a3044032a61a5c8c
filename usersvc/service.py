"""UserService: sign-up, sign-in, sessions and identity tokens."""

import contextlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from neutone.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc
from runtime.context import CallContext, current_call, require_user
from runtime.database import Database
from runtime.errors import (
    AlreadyExists,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Violations,
)
from runtime.identity import Identity, IdentityTokens, PrincipalKind
from runtime.messages import timestamp
from usersvc import store
from usersvc.limits import AccountLimits
from usersvc.passwords import Passwords
from usersvc.settings import UserServiceSettings

MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_DISPLAY_NAME_LENGTH = 50
MAX_SESSION_TOKEN_LENGTH = 128
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# One message for an unknown email and a wrong password: the response must not
# reveal which accounts exist.
BAD_CREDENTIALS = "email or password is incorrect"


def user_message(account: store.Account) -> user_pb2.User:
    return user_pb2.User(
        id=str(account.id),
        email=account.email,
        display_name=account.display_name,
        create_time=timestamp(account.create_time),
    )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def this_call() -> CallContext:
    call = current_call()
    if call is None:  # the interceptor sets it for every Neutone method
        raise ServiceError("no call context")
    return call


class UserService(user_service_pb2_grpc.UserServiceServicer):
    def __init__(
        self,
        *,
        database: Database,
        tokens: IdentityTokens,
        settings: UserServiceSettings,
        passwords: Passwords,
        limits: AccountLimits,
    ) -> None:
        self._db = database
        self._tokens = tokens
        self._settings = settings
        self._passwords = passwords
        self._limits = limits

    async def SignUp(
        self, request: user_service_pb2.SignUpRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.SignUpResponse:
        check = Violations()
        email = normalise_email(check.text("email", request.email, max_length=MAX_EMAIL_LENGTH))
        if email and len(email) <= MAX_EMAIL_LENGTH and not EMAIL_PATTERN.match(email):
            check.add("email", "must be an email address like name@example.com")
        check.text(
            "password",
            request.password,
            min_length=MIN_PASSWORD_LENGTH,
            max_length=MAX_PASSWORD_LENGTH,
            strip=False,
        )
        display_name = check.text(
            "display_name", request.display_name, max_length=MAX_DISPLAY_NAME_LENGTH
        )
        check.raise_if_any()

        call = this_call()
        await self._limits.admit_sign_up(call.client_address)
        password_hash = await self._passwords.hash(request.password, finish_by=call.deadline)
        async with self._db.transaction() as db:
            account = await store.create_account(
                db, email=email, display_name=display_name, password_hash=password_hash
            )
            if account is None:
                raise AlreadyExists("an account with this email exists", reason="EMAIL_TAKEN")
            token, session = await self._open_session(db, account.id)
        return user_service_pb2.SignUpResponse(
            user=user_message(account),
            session_token=token,
            expire_time=timestamp(session.expire_time),
        )

    async def SignIn(
        self, request: user_service_pb2.SignInRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.SignInResponse:
        check = Violations()
        email = normalise_email(check.text("email", request.email, max_length=MAX_EMAIL_LENGTH))
        check.text("password", request.password, max_length=MAX_PASSWORD_LENGTH, strip=False)
        check.raise_if_any()
        call = this_call()

        async with self._db.connection() as db:
            account = await store.find_account_by_email(db, email)
        attempt = await self._limits.admit_sign_in(
            email=email,
            account_id=account.id if account else None,
            client_address=call.client_address,
            # Leave time for the password check after a wait for the attempt's turn.
            start_by=None if call.deadline is None else call.deadline - self._passwords.margin,
        )
        stored_hash = account.password_hash if account else None
        try:
            matched = await self._passwords.matches(
                stored_hash, request.password, finish_by=call.deadline
            )
        except ResourceExhausted:
            # Nothing was learnt about the password: the attempt does not count.
            await self._limits.not_checked(attempt)
            raise
        if not matched:
            raise Unauthenticated(BAD_CREDENTIALS, reason="BAD_CREDENTIALS")
        assert account is not None  # a password cannot match a missing account

        await self._limits.signed_in(attempt, account.id)
        new_hash = None
        if self._passwords.needs_rehash(account.password_hash):
            # Optional: when hashing is busy, the next sign-in upgrades the hash.
            with contextlib.suppress(ResourceExhausted):
                new_hash = await self._passwords.hash(request.password, finish_by=call.deadline)
        async with self._db.transaction() as db:
            if new_hash is not None:
                await store.update_password_hash(db, account.id, new_hash)
            token, session = await self._open_session(db, account.id)
        return user_service_pb2.SignInResponse(
            user=user_message(account),
            session_token=token,
            expire_time=timestamp(session.expire_time),
        )

    async def SignOut(
        self, request: user_service_pb2.SignOutRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.SignOutResponse:
        user = require_user()
        async with self._db.transaction() as db:
            await store.revoke_session(
                db, session_id=UUID(user.session_id), account_id=UUID(user.subject)
            )
        return user_service_pb2.SignOutResponse()

    async def GetCurrentUser(
        self, request: user_service_pb2.GetCurrentUserRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.GetCurrentUserResponse:
        user = require_user()
        async with self._db.connection() as db:
            account = await store.get_account(db, UUID(user.subject))
        if account is None:
            raise Unauthenticated("the account no longer exists")
        return user_service_pb2.GetCurrentUserResponse(user=user_message(account))

    async def AuthenticateSession(
        self,
        request: user_service_pb2.AuthenticateSessionRequest,
        context: grpc.aio.ServicerContext,
    ) -> user_service_pb2.AuthenticateSessionResponse:
        check = Violations()
        token = check.text(
            "session_token", request.session_token, max_length=MAX_SESSION_TOKEN_LENGTH
        )
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.find_live_session(db, token)
        if found is None:
            raise Unauthenticated("session is unknown, expired or signed out", reason="NO_SESSION")
        session, account = found
        signed = self._tokens.mint(
            Identity(
                kind=PrincipalKind.USER,
                subject=str(account.id),
                session_id=str(session.id),
                display_name=account.display_name,
            )
        )
        return user_service_pb2.AuthenticateSessionResponse(
            identity_token=signed.token,
            expire_time=timestamp(signed.expire_time),
            user=user_message(account),
        )

    async def _open_session(
        self, db: AsyncConnection, account_id: UUID
    ) -> tuple[str, store.Session]:
        token = secrets.token_urlsafe(32)
        expire_time = datetime.now(UTC) + timedelta(days=self._settings.session_ttl_days)
        session = await store.create_session(
            db, account_id=account_id, token=token, expire_time=expire_time
        )
        return token, session
