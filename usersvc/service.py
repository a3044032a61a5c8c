"""UserService: sign-up (confirmed by mail), sign-in, sessions, identity tokens,
API keys, and managing one's account (name, password, reset by mail, deletion)."""

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
from runtime.outbox import Outbox
from runtime.pagination import PageTokens, TimePosition, page_size
from usersvc import mail, store
from usersvc.followups import Task, schedule, schedule_mail
from usersvc.limits import PASSWORD_RESETS_LIMITED, AccountLimits, refused
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


def check_email(check: Violations, field: str, value: str) -> str:
    """An email address as stored: trimmed and lower-cased."""
    email = normalise_email(check.text(field, value, max_length=MAX_EMAIL_LENGTH))
    if email and len(email) <= MAX_EMAIL_LENGTH and not EMAIL_PATTERN.match(email):
        check.add(field, "must be an email address like name@example.com")
    return email


def check_new_password(check: Violations, field: str, password: str) -> None:
    check.text(
        field, password, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, strip=False
    )


def _invalid_reset_link() -> FailedPrecondition:
    return FailedPrecondition(
        "this password reset link is unknown, used or expired; ask for a new one",
        reason="RESET_TOKEN_INVALID",
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
        issuer: IdentityIssuer,
        settings: UserServiceSettings,
        passwords: Passwords,
        limits: AccountLimits,
        outbox: Outbox,
    ) -> None:
        self._db = database
        self._outbox = outbox
        self._issuer = issuer
        self._page_tokens = PageTokens(settings.page_token_key)
        self._settings = settings
        self._passwords = passwords
        self._limits = limits

    async def SignUp(
        self, request: user_service_pb2.SignUpRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.SignUpResponse:
        check = Violations()
        email = check_email(check, "email", request.email)
        check_new_password(check, "password", request.password)
        display_name = check.text(
            "display_name", request.display_name, max_length=MAX_DISPLAY_NAME_LENGTH
        )
        check.raise_if_any()

        call = this_call()
        await self._limits.admit_sign_up(call.client_address)
        # Hashed whether or not the email is taken: both answers take as long.
        password_hash = await self._passwords.hash(request.password, finish_by=call.deadline)
        task_ids = []
        # Beyond the address's mail limit nothing is sent or kept, and the answer is
        # the same: neither tells who is registered.
        if (await self._limits.may_mail(email)).allowed:
            async with self._db.transaction() as db:
                if await store.find_account_by_email(db, email) is None:
                    token = secrets.token_urlsafe(32)
                    hours = self._settings.sign_up_link_hours
                    await store.create_sign_up(
                        db,
                        token=token,
                        email=email,
                        display_name=display_name,
                        password_hash=password_hash,
                        expire_time=datetime.now(UTC) + timedelta(hours=hours),
                    )
                    message = mail.confirm_sign_up(
                        to=email, link=self._link("confirm-sign-up", token), hours=hours
                    )
                else:
                    message = mail.already_registered(
                        to=email,
                        sign_in_link=self._link("sign-in"),
                        reset_link=self._link("forgot-password"),
                    )
                task_ids.append(await schedule_mail(db, message))
        self._outbox.deliver_soon(task_ids)
        return user_service_pb2.SignUpResponse()

    async def ConfirmSignUp(
        self, request: user_service_pb2.ConfirmSignUpRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.ConfirmSignUpResponse:
        check = Violations()
        token = check.text("token", request.token, max_length=MAX_SECRET_LENGTH)
        check.raise_if_any()
        await self._limits.check_token_exchange(this_call().client_address)
        async with self._db.transaction() as db:
            pending = await store.take_sign_up(db, token)
            if pending is None:
                raise FailedPrecondition(
                    "this sign-up link is unknown, used or expired; sign up again",
                    reason="SIGN_UP_TOKEN_INVALID",
                )
            account = await store.create_account(
                db,
                email=pending.email,
                display_name=pending.display_name,
                password_hash=pending.password_hash,
            )
            if account is None:
                raise FailedPrecondition(
                    "this email has an account already; sign in instead", reason="EMAIL_TAKEN"
                )
            session_token, session = await self._open_session(db, account.id)
        return user_service_pb2.ConfirmSignUpResponse(
            user=user_message(account),
            session_token=session_token,
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
            found = await store.find_account_by_email(db, email)
        account = await self._checked_password(
            email, found, request.password, wrong=BAD_CREDENTIALS
        )
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

    async def SignOutEverywhere(
        self,
        request: user_service_pb2.SignOutEverywhereRequest,
        context: grpc.aio.ServicerContext,
    ) -> user_service_pb2.SignOutEverywhereResponse:
        user = require_session()
        async with self._db.transaction() as db:
            await store.revoke_sessions(db, UUID(user.subject))
        return user_service_pb2.SignOutEverywhereResponse()

    async def UpdateCurrentUser(
        self,
        request: user_service_pb2.UpdateCurrentUserRequest,
        context: grpc.aio.ServicerContext,
    ) -> user_service_pb2.UpdateCurrentUserResponse:
        user = require_session()
        check = Violations()
        paths = set(request.update_mask.paths)
        if not paths:
            check.add("update_mask", "must name the fields to change: display_name")
        elif paths != {"display_name"}:
            check.add("update_mask", "only display_name can be changed")
        display_name = check.text(
            "user.display_name", request.user.display_name, max_length=MAX_DISPLAY_NAME_LENGTH
        )
        check.raise_if_any()
        async with self._db.transaction() as db:
            account = await store.update_display_name(db, UUID(user.subject), display_name)
            if account is None:
                raise Unauthenticated("the account no longer exists")
            task_id = await schedule(
                db, Task.RENAME_OWNER, user_id=str(account.id), display_name=display_name
            )
        self._outbox.deliver_soon([task_id])
        return user_service_pb2.UpdateCurrentUserResponse(user=user_message(account))

    async def ChangePassword(
        self, request: user_service_pb2.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.ChangePasswordResponse:
        user = require_session()
        check = Violations()
        check.text(
            "current_password",
            request.current_password,
            max_length=MAX_PASSWORD_LENGTH,
            strip=False,
        )
        check_new_password(check, "new_password", request.new_password)
        check.raise_if_any()
        account = await self._verify_password(UUID(user.subject), request.current_password)
        new_hash = await self._passwords.hash(request.new_password, finish_by=this_call().deadline)
        async with self._db.transaction() as db:
            await store.set_password(db, account.id, new_hash)
            await store.revoke_sessions(db, account.id, keep=UUID(user.credential_id))
        return user_service_pb2.ChangePasswordResponse()

    async def DeleteAccount(
        self, request: user_service_pb2.DeleteAccountRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.DeleteAccountResponse:
        user = require_session()
        check = Violations()
        check.text("password", request.password, max_length=MAX_PASSWORD_LENGTH, strip=False)
        check.raise_if_any()
        account = await self._verify_password(UUID(user.subject), request.password)
        async with self._db.transaction() as db:
            await store.delete_account(db, account.id)
            # The account's songs and ledger are other services': told through the
            # outbox, they follow within seconds, whatever those services are doing.
            task_ids = [
                await schedule(db, task, user_id=str(account.id))
                for task in (Task.DELETE_OWNER_DATA, Task.DETACH_BILLING)
            ]
        self._outbox.deliver_soon(task_ids)
        return user_service_pb2.DeleteAccountResponse()

    async def RequestPasswordReset(
        self,
        request: user_service_pb2.RequestPasswordResetRequest,
        context: grpc.aio.ServicerContext,
    ) -> user_service_pb2.RequestPasswordResetResponse:
        check = Violations()
        email = check_email(check, "email", request.email)
        check.raise_if_any()
        await self._limits.admit_password_reset(this_call().client_address)
        decision = await self._limits.may_mail(email)
        if not decision.allowed:
            raise refused("too much mail to this address lately", PASSWORD_RESETS_LIMITED, decision)
        minutes = self._settings.password_reset_link_minutes
        async with self._db.transaction() as db:
            account = await store.find_account_by_email(db, email)
            # A mail either way, so the work (and the time) is the same.
            if account is None:
                message = mail.no_account(to=email, sign_up_link=self._link("sign-up"))
            else:
                token = secrets.token_urlsafe(32)
                await store.create_password_reset(
                    db,
                    token=token,
                    account_id=account.id,
                    expire_time=datetime.now(UTC) + timedelta(minutes=minutes),
                )
                message = mail.reset_password(
                    to=email, link=self._link("reset-password", token), minutes=minutes
                )
            task_id = await schedule_mail(db, message)
        self._outbox.deliver_soon([task_id])
        return user_service_pb2.RequestPasswordResetResponse()

    async def ResetPassword(
        self, request: user_service_pb2.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> user_service_pb2.ResetPasswordResponse:
        check = Violations()
        token = check.text("token", request.token, max_length=MAX_SECRET_LENGTH)
        check_new_password(check, "new_password", request.new_password)
        check.raise_if_any()
        await self._limits.check_token_exchange(this_call().client_address)
        async with self._db.connection() as db:
            live = await store.find_password_reset(db, token)
        if live is None:
            raise _invalid_reset_link()
        # Hashed before the link is used up: a busy hasher must not waste the link.
        new_hash = await self._passwords.hash(request.new_password, finish_by=this_call().deadline)
        async with self._db.transaction() as db:
            account_id = await store.take_password_reset(db, token)
            if account_id is None:  # used meanwhile by a concurrent call
                raise _invalid_reset_link()
            await store.set_password(db, account_id, new_hash)
            await store.revoke_sessions(db, account_id)
        return user_service_pb2.ResetPasswordResponse()

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

    async def _verify_password(self, account_id: UUID, password: str) -> store.Account:
        """The caller's account once `password` is its password."""
        async with self._db.connection() as db:
            account = await store.get_account(db, account_id)
        if account is None:
            raise Unauthenticated("the account no longer exists")
        return await self._checked_password(
            account.email, account, password, wrong="the password is incorrect"
        )

    async def _checked_password(
        self, email: str, account: store.Account | None, password: str, *, wrong: str
    ) -> store.Account:
        """`account` once `password` is its password, counted and limited as a
        sign-in from the caller's client; UNAUTHENTICATED with `wrong` otherwise.
        Without an account a decoy is checked, so the answer takes as long."""
        call = this_call()
        attempt = await self._limits.admit_sign_in(
            email=email,
            account_id=account.id if account else None,
            client_address=call.client_address,
            # Leave time for the password check after a wait for the attempt's turn.
            start_by=None if call.deadline is None else call.deadline - self._passwords.margin,
        )
        try:
            matched = await self._passwords.matches(
                account.password_hash if account else None, password, finish_by=call.deadline
            )
        except ResourceExhausted:
            # Nothing was learnt about the password: the attempt does not count.
            await self._limits.not_checked(attempt)
            raise
        if not matched:
            raise Unauthenticated(wrong, reason="BAD_CREDENTIALS")
        assert account is not None  # a password cannot match a missing account
        await self._limits.signed_in(attempt, account.id)
        return account

    def _link(self, page: str, token: str | None = None) -> str:
        """A link into the browser app, as mail carries it."""
        link = f"{self._settings.app_url.rstrip('/')}/{page}"
        return f"{link}?token={token}" if token else link

    async def _open_session(
        self, db: AsyncConnection, account_id: UUID
    ) -> tuple[str, store.Session]:
        token = secrets.token_urlsafe(32)
        expire_time = datetime.now(UTC) + timedelta(days=self._settings.session_ttl_days)
        session = await store.create_session(
            db, account_id=account_id, token=token, expire_time=expire_time
        )
        return token, session
