"""usersvc's data access: every SQL statement the service runs."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.identity import CredentialKind, credential
from runtime.pagination import TimePosition
from usersvc.tables import (
    accounts,
    api_keys,
    known_clients,
    password_resets,
    revoked_credentials,
    sessions,
    sign_ups,
)

# How long revocations are kept: longer than any identity token lives.
REVOCATIONS_KEPT = sa.text("interval '2 hours'")
# An API key's last use is noted to the minute.
KEY_USE_RESOLUTION = sa.text("interval '1 minute'")


@dataclass(frozen=True, slots=True)
class Account:
    id: UUID
    email: str
    display_name: str
    password_hash: str
    create_time: datetime

    @classmethod
    def from_row(cls, row: sa.Row) -> "Account":
        return cls(
            id=row.id,
            email=row.email,
            display_name=row.display_name,
            password_hash=row.password_hash,
            create_time=row.create_time,
        )


@dataclass(frozen=True, slots=True)
class Session:
    id: UUID
    account_id: UUID
    expire_time: datetime


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_account(
    db: AsyncConnection, *, email: str, display_name: str, password_hash: str
) -> Account | None:
    """The new account, or None when the email is taken."""
    row = (
        await db.execute(
            insert(accounts)
            .values(email=email, display_name=display_name, password_hash=password_hash)
            .on_conflict_do_nothing(index_elements=[accounts.c.email])
            .returning(accounts)
        )
    ).first()
    return Account.from_row(row) if row else None


async def find_account_by_email(db: AsyncConnection, email: str) -> Account | None:
    row = (await db.execute(sa.select(accounts).where(accounts.c.email == email))).first()
    return Account.from_row(row) if row else None


async def get_account(db: AsyncConnection, account_id: UUID) -> Account | None:
    row = (await db.execute(sa.select(accounts).where(accounts.c.id == account_id))).first()
    return Account.from_row(row) if row else None


async def update_password_hash(db: AsyncConnection, account_id: UUID, password_hash: str) -> None:
    await db.execute(
        sa.update(accounts).where(accounts.c.id == account_id).values(password_hash=password_hash)
    )


async def create_session(
    db: AsyncConnection, *, account_id: UUID, token: str, expire_time: datetime
) -> Session:
    row = (
        await db.execute(
            sa.insert(sessions)
            .values(account_id=account_id, token_hash=token_hash(token), expire_time=expire_time)
            .returning(sessions.c.id, sessions.c.account_id, sessions.c.expire_time)
        )
    ).one()
    return Session(id=row.id, account_id=row.account_id, expire_time=row.expire_time)


async def find_live_session(db: AsyncConnection, token: str) -> tuple[Session, Account] | None:
    """The unexpired, unrevoked session with this token, and its account."""
    row = (
        await db.execute(
            sa.select(sessions.c.id.label("session_id"), sessions.c.expire_time, accounts)
            .join(accounts, accounts.c.id == sessions.c.account_id)
            .where(
                sessions.c.token_hash == token_hash(token),
                sessions.c.revoke_time.is_(None),
                sessions.c.expire_time > sa.func.now(),
            )
        )
    ).first()
    if row is None:
        return None
    session = Session(id=row.session_id, account_id=row.id, expire_time=row.expire_time)
    return session, Account.from_row(row)


async def revoke_session(db: AsyncConnection, *, session_id: UUID, account_id: UUID) -> None:
    """Ends the session; tokens already minted from it stop working everywhere
    within seconds (runtime.revocations)."""
    await _revoke_sessions_where(
        db, sa.and_(sessions.c.id == session_id, sessions.c.account_id == account_id)
    )


async def revoke_sessions(
    db: AsyncConnection, account_id: UUID, *, keep: UUID | None = None
) -> int:
    """Ends every live session of the account but `keep`; how many."""
    condition = sessions.c.account_id == account_id
    if keep is not None:
        condition = sa.and_(condition, sessions.c.id != keep)
    return await _revoke_sessions_where(db, condition)


async def _revoke_sessions_where(db: AsyncConnection, condition: sa.ColumnElement[bool]) -> int:
    revoked = list(
        (
            await db.execute(
                sa.update(sessions)
                .where(condition, sessions.c.revoke_time.is_(None))
                .values(revoke_time=sa.func.now())
                .returning(sessions.c.id)
            )
        ).scalars()
    )
    await _record_revoked(db, [credential(CredentialKind.SESSION, row) for row in revoked])
    return len(revoked)


async def update_display_name(
    db: AsyncConnection, account_id: UUID, display_name: str
) -> Account | None:
    row = (
        await db.execute(
            sa.update(accounts)
            .where(accounts.c.id == account_id)
            .values(display_name=display_name)
            .returning(accounts)
        )
    ).first()
    return Account.from_row(row) if row else None


async def set_password(db: AsyncConnection, account_id: UUID, password_hash: str) -> None:
    """A new password: every reset link of the account stops working."""
    await update_password_hash(db, account_id, password_hash)
    await db.execute(sa.delete(password_resets).where(password_resets.c.account_id == account_id))


async def delete_account(db: AsyncConnection, account_id: UUID) -> None:
    """Deletes the account with its sessions, keys, links and known clients; tokens
    minted from its credentials stop working everywhere within seconds."""
    revoked = [
        credential(kind, credential_id)
        for kind, table in ((CredentialKind.SESSION, sessions), (CredentialKind.API_KEY, api_keys))
        for credential_id in (
            await db.execute(sa.select(table.c.id).where(table.c.account_id == account_id))
        ).scalars()
    ]
    await _record_revoked(db, revoked)
    await db.execute(sa.delete(accounts).where(accounts.c.id == account_id))


async def _record_revoked(db: AsyncConnection, revoked: list[str]) -> None:
    if not revoked:
        return
    await db.execute(
        insert(revoked_credentials)
        .values([{"credential": value} for value in revoked])
        .on_conflict_do_nothing()
    )
    # Revocations older than a token's lifetime mean nothing: keep the table small.
    await db.execute(
        sa.delete(revoked_credentials).where(
            revoked_credentials.c.revoke_time < sa.func.now() - REVOCATIONS_KEPT
        )
    )


# ---- API keys -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: UUID
    account_id: UUID
    display_name: str
    secret_prefix: str
    create_time: datetime
    expire_time: datetime | None
    revoke_time: datetime | None
    last_use_time: datetime | None

    @classmethod
    def from_row(cls, row: sa.Row) -> "ApiKey":
        return cls(**{name: getattr(row, name) for name in cls.__slots__})


async def create_api_key(
    db: AsyncConnection,
    *,
    account_id: UUID,
    display_name: str,
    secret: str,
    secret_prefix: str,
    expire_time: datetime | None,
) -> ApiKey:
    row = (
        await db.execute(
            sa.insert(api_keys)
            .values(
                account_id=account_id,
                display_name=display_name,
                secret_hash=token_hash(secret),
                secret_prefix=secret_prefix,
                expire_time=expire_time,
            )
            .returning(api_keys)
        )
    ).one()
    return ApiKey.from_row(row)


def _live_key() -> sa.ColumnElement[bool]:
    return sa.and_(
        api_keys.c.revoke_time.is_(None),
        sa.or_(api_keys.c.expire_time.is_(None), api_keys.c.expire_time > sa.func.now()),
    )


async def count_live_api_keys(db: AsyncConnection, account_id: UUID) -> int:
    """The account's live keys, once no other CreateApiKey of theirs is between
    its count and its insert."""
    await db.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())
    return (
        await db.execute(
            sa.select(sa.func.count()).where(api_keys.c.account_id == account_id, _live_key())
        )
    ).scalar_one()


async def find_live_api_key(db: AsyncConnection, secret: str) -> tuple[ApiKey, Account] | None:
    """The live key with this secret and its account; notes the use (to the minute,
    so a busy key costs no write per exchange)."""
    row = (
        await db.execute(
            sa.select(api_keys).where(api_keys.c.secret_hash == token_hash(secret), _live_key())
        )
    ).first()
    account = await get_account(db, row.account_id) if row else None
    if row is None or account is None:
        return None
    await db.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.id == row.id,
            sa.or_(
                api_keys.c.last_use_time.is_(None),
                api_keys.c.last_use_time < sa.func.now() - KEY_USE_RESOLUTION,
            ),
        )
        .values(last_use_time=sa.func.now())
    )
    return ApiKey.from_row(row), account


async def list_api_keys(
    db: AsyncConnection, account_id: UUID, *, after: TimePosition | None, limit: int
) -> list[ApiKey]:
    query = sa.select(api_keys).where(api_keys.c.account_id == account_id)
    if after is not None:
        query = query.where(
            sa.tuple_(api_keys.c.create_time, api_keys.c.id) < sa.tuple_(after.time, after.id)
        )
    query = query.order_by(api_keys.c.create_time.desc(), api_keys.c.id.desc()).limit(limit)
    return [ApiKey.from_row(row) for row in await db.execute(query)]


async def revoke_api_key(db: AsyncConnection, *, key_id: UUID, account_id: UUID) -> ApiKey | None:
    """Revokes the account's key (once: a repeat changes nothing); None when the
    account has no such key."""
    await db.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.id == key_id,
            api_keys.c.account_id == account_id,
            api_keys.c.revoke_time.is_(None),
        )
        .values(revoke_time=sa.func.now())
    )
    row = (
        await db.execute(
            sa.select(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id == account_id)
        )
    ).first()
    if row is None:
        return None
    await _record_revoked(db, [credential(CredentialKind.API_KEY, key_id)])
    return ApiKey.from_row(row)


def _days_ago(days: int) -> sa.ColumnElement[datetime]:
    return sa.func.now() - sa.func.make_interval(0, 0, 0, days)


async def is_known_client(
    db: AsyncConnection, *, account_id: UUID, client_hash: bytes, within_days: int
) -> bool:
    """Whether the client signed into the account within the last `within_days`."""
    row = (
        await db.execute(
            sa.select(sa.literal(True)).where(
                known_clients.c.account_id == account_id,
                known_clients.c.client_hash == client_hash,
                known_clients.c.last_sign_in_time > _days_ago(within_days),
            )
        )
    ).first()
    return row is not None


async def remember_client(
    db: AsyncConnection, *, account_id: UUID, client_hash: bytes, forget_after_days: int
) -> None:
    await db.execute(
        insert(known_clients)
        .values(account_id=account_id, client_hash=client_hash)
        .on_conflict_do_update(
            index_elements=[known_clients.c.account_id, known_clients.c.client_hash],
            set_={"last_sign_in_time": sa.func.now()},
        )
    )
    # The account's clients that stopped counting: keep its rows few (a primary-key
    # range, so cheap).
    await db.execute(
        sa.delete(known_clients).where(
            known_clients.c.account_id == account_id,
            known_clients.c.last_sign_in_time < _days_ago(forget_after_days),
        )
    )


# ---- links mailed to people ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingSignUp:
    email: str
    display_name: str
    password_hash: str


async def create_sign_up(
    db: AsyncConnection,
    *,
    token: str,
    email: str,
    display_name: str,
    password_hash: str,
    expire_time: datetime,
) -> None:
    await db.execute(
        sa.insert(sign_ups).values(
            token_hash=token_hash(token),
            email=email,
            display_name=display_name,
            password_hash=password_hash,
            expire_time=expire_time,
        )
    )


async def take_sign_up(db: AsyncConnection, token: str) -> PendingSignUp | None:
    """The live sign-up with this token, used up (the token works once)."""
    row = (
        await db.execute(
            sa.delete(sign_ups)
            .where(
                sign_ups.c.token_hash == token_hash(token), sign_ups.c.expire_time > sa.func.now()
            )
            .returning(sign_ups.c.email, sign_ups.c.display_name, sign_ups.c.password_hash)
        )
    ).first()
    if row is None:
        return None
    return PendingSignUp(
        email=row.email, display_name=row.display_name, password_hash=row.password_hash
    )


async def create_password_reset(
    db: AsyncConnection, *, token: str, account_id: UUID, expire_time: datetime
) -> None:
    await db.execute(
        sa.insert(password_resets).values(
            token_hash=token_hash(token), account_id=account_id, expire_time=expire_time
        )
    )


async def find_password_reset(db: AsyncConnection, token: str) -> UUID | None:
    """The account of the live reset link with this token."""
    return await db.scalar(
        sa.select(password_resets.c.account_id).where(
            password_resets.c.token_hash == token_hash(token),
            password_resets.c.expire_time > sa.func.now(),
        )
    )


async def take_password_reset(db: AsyncConnection, token: str) -> UUID | None:
    """The account of the live reset link with this token, used up."""
    return await db.scalar(
        sa.delete(password_resets)
        .where(
            password_resets.c.token_hash == token_hash(token),
            password_resets.c.expire_time > sa.func.now(),
        )
        .returning(password_resets.c.account_id)
    )


async def prune_expired_links(db: AsyncConnection) -> int:
    """Deletes sign-ups and reset links past their time; how many."""
    deleted = 0
    for table in (sign_ups, password_resets):
        result = await db.execute(sa.delete(table).where(table.c.expire_time <= sa.func.now()))
        deleted += result.rowcount
    return deleted
