"""Rate limits that hold across every replica of a service, kept in PostgreSQL.

A limit allows `count` calls per `window_seconds` for one key (a client, an
account, a pair of them). It is a GCRA (generic cell rate algorithm): each key's
row holds the time at which its full allowance is back; every allowed call moves
that time one share of the window (`window / count`) later, and a call is allowed
while that time stays within one window from now. So `count` calls may come at
once, after which one more is allowed every `window / count` seconds: a smooth
"`count` per window", without the double burst of fixed windows at their edges.

Checking and counting is one INSERT ... ON CONFLICT DO UPDATE on the key's row:
PostgreSQL serialises the calls for one key on that row, so N parallel calls can
never all pass. A call may also accept to wait its turn (`max_wait_seconds`): it is
then allowed with the wait it must keep, and its turn is taken in the same
statement, so waiting callers are spaced out instead of refused.

    limiter = RateLimiter(database, rate_limits)
    decision = await limiter.acquire(f"sign-up:{client}", Limit(count=10, window_seconds=3600))
    if not decision.allowed:
        raise ResourceExhausted(..., retry_after_seconds=decision.retry_after_whole_seconds)

Each service keeps its table in its own schema (`rate_limit_table(metadata)`,
created by the service's own migration). Rows whose allowance is full again mean
nothing and are deleted now and then, a batch at a time, by any replica."""

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from runtime.database import Database

# How often one process deletes the rows of keys whose allowance is full again,
# and at most how many rows one pass deletes.
PRUNE_INTERVAL_SECONDS = 60.0
PRUNE_BATCH = 10_000
# IPv6 clients get a /64 each (one subscriber, one LAN), so an attacker cannot be a
# new client per address; an IPv4 client is one address.
IPV6_CLIENT_PREFIX = 64


def rate_limit_table(metadata: sa.MetaData, name: str = "rate_limits") -> sa.Table:
    """The limiter's table, in the schema of `metadata` (the using service's own).
    The service's migration creates it with these columns."""
    return sa.Table(
        name,
        metadata,
        # SHA-256 of the key: a fixed size, and no addresses or emails at rest.
        sa.Column("key_hash", sa.LargeBinary, primary_key=True),
        # When the key's whole allowance is back; once it has passed, the row means
        # nothing and may be deleted.
        sa.Column("full_allowance_time", sa.DateTime(timezone=True), nullable=False),
        # The decision of the latest call for this key, which that call reads back.
        sa.Column("last_allowed", sa.Boolean, nullable=False),
    )


@dataclass(frozen=True, slots=True)
class Limit:
    # Calls allowed at once, and per window.
    count: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a limit allows at least one call, not {self.count}")
        if self.window_seconds <= 0:
            raise ValueError(f"a limit's window must be positive, not {self.window_seconds}")

    @property
    def share_seconds(self) -> float:
        """The part of the window that one call uses up."""
        return self.window_seconds / self.count


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # Allowed: how long the caller must wait before it acts (its turn); 0 unless it
    # accepted to wait.
    wait_seconds: float = 0.0
    # Refused: how long until a call for this key would be allowed without waiting.
    retry_after_seconds: float = 0.0

    @property
    def retry_after_whole_seconds(self) -> int:
        """`retry_after_seconds` rounded up, at least 1 (for RetryInfo)."""
        return max(1, math.ceil(self.retry_after_seconds))


def decide(*, allowed: bool, full_allowance_in: float, limit: Limit) -> Decision:
    """The decision from what the statement returned: whether it counted the call,
    and how far ahead of now the key's full allowance is, after it."""
    if allowed:
        return Decision(
            allowed=True, wait_seconds=max(0.0, full_allowance_in - limit.window_seconds)
        )
    # Refused, the row is unchanged: a call conforms once one share has come back.
    return Decision(
        allowed=False,
        retry_after_seconds=max(
            0.0, full_allowance_in + limit.share_seconds - limit.window_seconds
        ),
    )


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def client_network(address: str) -> str:
    """The part of a client's address that one party controls, for keys: an IPv4
    address itself, an IPv6 address's /64; anything else (a unix socket) as it is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


class RateLimiter:
    """Limits on keys, counted in `table` (made by `rate_limit_table`). Each call
    runs in a transaction of its own: a count must be visible to every replica at
    once, and must never wait on the caller's other work."""

    def __init__(self, database: Database, table: sa.Table) -> None:
        self._db = database
        self._table = table
        self._next_prune = 0.0

    async def acquire(self, key: str, limit: Limit, *, max_wait_seconds: float = 0.0) -> Decision:
        """Counts one call for `key` if `limit` allows it now, or within
        `max_wait_seconds` (then the decision says how long to wait first)."""
        table = self._table
        # One clock for every replica (the database's), read once per statement.
        now = sa.func.statement_timestamp()
        share = sa.literal(timedelta(seconds=limit.share_seconds), sa.Interval)
        reach = sa.literal(
            timedelta(seconds=limit.window_seconds + max(0.0, max_wait_seconds)), sa.Interval
        )
        after_this_call = sa.func.greatest(table.c.full_allowance_time, now) + share
        fits = after_this_call - now <= reach
        statement = (
            insert(table)
            # A key without a row has its whole allowance: the call is allowed.
            .values(key_hash=key_hash(key), full_allowance_time=now + share, last_allowed=True)
            .on_conflict_do_update(
                index_elements=[table.c.key_hash],
                # Both read the row as it was before this call (and after every
                # earlier one: the row is locked for the update).
                set_={
                    "last_allowed": fits,
                    "full_allowance_time": sa.case(
                        (fits, after_this_call), else_=table.c.full_allowance_time
                    ),
                },
            )
            .returning(
                table.c.last_allowed,
                sa.cast(sa.extract("epoch", table.c.full_allowance_time - now), sa.Float),
            )
        )
        async with self._db.transaction() as db:
            allowed, full_allowance_in = (await db.execute(statement)).one()
        await self._prune_now_and_then()
        return decide(allowed=allowed, full_allowance_in=full_allowance_in, limit=limit)

    async def refund(self, key: str, limit: Limit) -> None:
        """Gives back one call counted for `key` (e.g. one that turned out well)."""
        share = sa.literal(timedelta(seconds=limit.share_seconds), sa.Interval)
        async with self._db.transaction() as db:
            await db.execute(
                sa.update(self._table)
                .where(self._table.c.key_hash == key_hash(key))
                .values(full_allowance_time=self._table.c.full_allowance_time - share)
            )

    async def reset(self, key: str) -> None:
        """Gives `key` its whole allowance back."""
        async with self._db.transaction() as db:
            await db.execute(sa.delete(self._table).where(self._table.c.key_hash == key_hash(key)))

    async def prune(self) -> int:
        """Deletes a batch of rows whose allowance is full again; how many. Rows a
        concurrent call holds are skipped, never waited for."""
        table = self._table
        expired = (
            sa.select(table.c.key_hash)
            .where(table.c.full_allowance_time < sa.func.statement_timestamp())
            .limit(PRUNE_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with self._db.transaction() as db:
            result = await db.execute(sa.delete(table).where(table.c.key_hash.in_(expired)))
        return result.rowcount

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
        await self.prune()
