"""usersvc's data access: every SQL statement the service runs."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from usersvc.tables import accounts, known_clients, sessions


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
