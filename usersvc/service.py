"""UserService: sign-up, sign-in, sessions and identity tokens."""

import contextlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncConnection

from neutone.v1 import api_key_pb2, user_pb2, user_service_pb2, user_service_pb2_grpc
from runtime.context import CallContext, current_call, require_user
from runtime.database import Database
from runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Violations,
)
from runtime.identity import (
    CredentialKind,
    Identity,
    IdentityIssuer,
    PrincipalKind,
    SignedToken,
    credential,
)
from runtime.messages import timestamp
from runtime.pagination import PageTokens, TimePosition, page_size
from usersvc import store
from usersvc.limits import AccountLimits
from usersvc.passwords import Passwords
from usersvc.settings import UserServiceSettings

MAX_EMAIL_LENGTH = 254
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_DISPLAY_NAME_LENGTH = 50
# Session tokens and API key secrets alike.
MAX_SECRET_LENGTH = 128
API_KEY_PREFIX = "ntk_"
SHOWN_SECRET_CHARACTERS = 6
MAX_LIVE_API_KEYS = 20
MAX_API_KEY_LIFETIME = timedelta(days=366)
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


def api_key_message(key: store.ApiKey) -> api_key_pb2.ApiKey:
    message = api_key_pb2.ApiKey(
        id=str(key.id),
        display_name=key.display_name,
        secret_prefix=key.secret_prefix,
        create_time=timestamp(key.create_time),
    )
    for field in ("expire_time", "revoke_time", "last_use_time"):
        value = getattr(key, field)
        if value is not None:
            getattr(message, field).CopyFrom(timestamp(value))
    return message


def require_session() -> Identity:
    """The calling user, when their token was minted from a session: an API key
    can use the account, but not manage its credentials."""
    user = require_user()
    if user.credential_kind is not CredentialKind.SESSION:
        raise PermissionDenied("only a signed-in session may do this, not an API key")
    return user


def check_future_time(
    check: Violations, field: str, value: Timestamp, *, within: timedelta
) -> datetime | None:
    """`value` as a time in the future, at most `within` away."""
    try:
        moment = value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        check.add(field, "is not a valid time")
        return None
    now = datetime.now(UTC)
    if not now < moment <= now + within:
        check.add(field, f"must be in the future and at most {within.days} days away")
    return moment


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
        issuer: IdentityIssuer,
        settings: UserServiceSettings,
        passwords: Passwords,
        limits: AccountLimits,
    ) -> None:
        self._db = database
        self._issuer = issuer
        self._page_tokens = PageTokens(settings.page_token_key)
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
        user = require_session()
        async with self._db.transaction() as db:
            await store.revoke_session(
                db, session_id=UUID(user.credential_id), account_id=UUID(user.subject)
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
        token = check.text("session_token", request.session_token, max_length=MAX_SECRET_LENGTH)
        check.raise_if_any()
        signed, account = await self._token_for_session(token)
        return user_service_pb2.AuthenticateSessionResponse(
            identity_token=signed.token,
            expire_time=timestamp(signed.expire_time),
            user=user_message(account),
        )

    async def CreateIdentityToken(
        self,
        request: user_service_pb2.CreateIdentityTokenRequest,
        context: grpc.aio.ServicerContext,
    ) -> user_service_pb2.CreateIdentityTokenResponse:
        check = Violations()
        kind = request.WhichOneof("credential")
        if kind is None:
            check.add("credential", "one of session_token or api_key is required")
        else:
            secret = check.text(kind, getattr(request, kind), max_length=MAX_SECRET_LENGTH)
        check.raise_if_any()
        await self._limits.check_token_exchange(this_call().client_address)
        if kind == "session_token":
            signed, account = await self._token_for_session(secret)
        else:
            signed, account = await self._token_for_api_key(secret)
        return user_service_pb2.CreateIdentityTokenResponse(
            identity_token=signed.token,
            expire_time=timestamp(signed.expire_time),
            user=user_message(account),
        )

    async def CreateApiKey(
        self, request: user_service_pb2.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.CreateApiKeyResponse:
        user = require_session()
        check = Violations()
        display_name = check.text(
            "display_name", request.display_name, max_length=MAX_DISPLAY_NAME_LENGTH
        )
        expire_time = None
        if request.HasField("expire_time"):
            expire_time = check_future_time(
                check, "expire_time", request.expire_time, within=MAX_API_KEY_LIFETIME
            )
        check.raise_if_any()
        secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._db.transaction() as db:
            if await store.count_live_api_keys(db, UUID(user.subject)) >= MAX_LIVE_API_KEYS:
                raise FailedPrecondition(
                    f"an account may hold at most {MAX_LIVE_API_KEYS} live API keys; "
                    "revoke one first",
                    reason="TOO_MANY_API_KEYS",
                )
            key = await store.create_api_key(
                db,
                account_id=UUID(user.subject),
                display_name=display_name,
                secret=secret,
                secret_prefix=secret[: len(API_KEY_PREFIX) + SHOWN_SECRET_CHARACTERS],
                expire_time=expire_time,
            )
        return user_service_pb2.CreateApiKeyResponse(api_key=api_key_message(key), secret=secret)

    async def ListApiKeys(
        self, request: user_service_pb2.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.ListApiKeysResponse:
        account_id = UUID(require_user().subject)
        check = Violations()
        limit = page_size(check, request.page_size)
        query = {"listing": "api_keys", "account": str(account_id)}
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.list_api_keys(db, account_id, after=after, limit=limit + 1)
        page = found[:limit]
        next_token = ""
        if len(found) > limit:
            last = page[-1]
            next_token = self._page_tokens.encode(
                TimePosition(time=last.create_time, id=last.id), query=query
            )
        return user_service_pb2.ListApiKeysResponse(
            api_keys=[api_key_message(key) for key in page], next_page_token=next_token
        )

    async def RevokeApiKey(
        self, request: user_service_pb2.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.RevokeApiKeyResponse:
        user = require_session()
        check = Violations()
        key_id = check.uuid("api_key_id", request.api_key_id)
        check.raise_if_any()
        async with self._db.transaction() as db:
            key = await store.revoke_api_key(db, key_id=UUID(key_id), account_id=UUID(user.subject))
        if key is None:
            raise NotFound("no such API key")
        return user_service_pb2.RevokeApiKeyResponse(api_key=api_key_message(key))

    async def _token_for_session(self, token: str) -> tuple[SignedToken, store.Account]:
        async with self._db.connection() as db:
            found = await store.find_live_session(db, token)
        if found is None:
            raise Unauthenticated(
                "the session is unknown, expired or signed out", reason="NO_CREDENTIAL"
            )
        session, account = found
        return self._mint(account, credential(CredentialKind.SESSION, session.id)), account

    async def _token_for_api_key(self, secret: str) -> tuple[SignedToken, store.Account]:
        async with self._db.transaction() as db:
            found = await store.find_live_api_key(db, secret)
        if found is None:
            raise Unauthenticated(
                "the API key is unknown, expired or revoked", reason="NO_CREDENTIAL"
            )
        key, account = found
        return self._mint(account, credential(CredentialKind.API_KEY, key.id)), account

    def _mint(self, account: store.Account, credential_name: str) -> SignedToken:
        return self._issuer.mint(
            Identity(
                kind=PrincipalKind.USER,
                subject=str(account.id),
                credential=credential_name,
                display_name=account.display_name,
            )
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
