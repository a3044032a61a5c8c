"""usersvc's data access: every SQL statement the service runs."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from usersvc.tables import accounts, sessions, sign_in_failures


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
    await db.execute(
        sa.update(sessions)
        .where(
            sessions.c.id == session_id,
            sessions.c.account_id == account_id,
            sessions.c.revoke_time.is_(None),
        )
        .values(revoke_time=sa.func.now())
    )


async def recent_failures(
    db: AsyncConnection, *, email: str, client_address: str, window_seconds: int
) -> tuple[int, int]:
    """Sign-in failures within the window: (for this email, from this client)."""
    since = sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
    recent = sign_in_failures.c.create_time > since
    row = (
        await db.execute(
            sa.select(
                sa.func.count().filter(sign_in_failures.c.email == email),
                sa.func.count().filter(sign_in_failures.c.client_address == client_address),
            ).where(
                recent,
                sa.or_(
                    sign_in_failures.c.email == email,
                    sign_in_failures.c.client_address == client_address,
                ),
            )
        )
    ).one()
    return row[0], row[1]


async def record_failure(
    db: AsyncConnection, *, email: str, client_address: str, window_seconds: int
) -> None:
    await db.execute(sa.insert(sign_in_failures).values(email=email, client_address=client_address))
    # Failures older than the window never count again: keep the table small.
    await db.execute(
        sa.delete(sign_in_failures).where(
            sign_in_failures.c.create_time
            < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
        )
    )


async def clear_failures(db: AsyncConnection, *, email: str) -> None:
    await db.execute(sa.delete(sign_in_failures).where(sign_in_failures.c.email == email))
