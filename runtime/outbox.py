"""Work that must follow a transaction, whatever happens after it commits (the
transactional outbox).

A service records a task (a mail to send, another service to tell) as a row of its
own outbox table in the same transaction as the change that calls for it, so the
two never part. The task is then carried out until it succeeds: at once by the
process that wrote it, and by the delivery loop of every replica after that, with
backoff while its target is away. Tasks are carried out at least once: handlers
must be idempotent."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import Database, interval

log = structlog.get_logger()

# Tasks tried per pass, each in the transaction that holds its row.
BATCH = 50
# How long the process that wrote a task tries it before leaving it to the loop:
# a target that is away must not hold up the call that scheduled it.
PROMPT_DELIVERY_SECONDS = 2.0

Payload = dict[str, Any]
Handler = Callable[[Payload], Awaitable[None]]


class Permanent(Exception):
    """The task can never succeed (its target refused it for good): it is dropped
    and logged rather than retried forever."""


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    """A service's outbox, in its own schema."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "next_attempt_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Index("outbox_due", "next_attempt_time"),
    )


async def schedule(db: AsyncConnection, table: sa.Table, task: str, payload: Payload) -> int:
    """Records a task in the caller's transaction; its id."""
    return await db.scalar(
        sa.insert(table).values(task=task, payload=payload).returning(table.c.id)
    )


class Outbox:
    def __init__(
        self,
        database: Database,
        table: sa.Table,
        handlers: Mapping[str, Handler],
        *,
        retry_base_seconds: float = 1.0,
        retry_max_seconds: float = 300.0,
    ) -> None:
        self._db = database
        self._table = table
        self._handlers = handlers
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        # Prompt deliveries running in the background, held so they are not collected.
        self._prompt: set[asyncio.Task[None]] = set()

    def deliver_soon(self, task_ids: list[int]) -> None:
        """`deliver`, without the caller waiting for it (a mail's SMTP round trip
        must neither slow an answer down nor tell anything by its timing)."""
        if not task_ids:
            return
        task = asyncio.create_task(self.deliver(task_ids))
        self._prompt.add(task)
        task.add_done_callback(self._prompt.discard)

    async def deliver(self, task_ids: list[int]) -> None:
        """Tries the given tasks right away, briefly: the caller goes on whatever
        happens, and the delivery loop takes over from a failure."""
        try:
            async with asyncio.timeout(PROMPT_DELIVERY_SECONDS):
                await self._deliver_where(self._table.c.id.in_(task_ids), limit=len(task_ids))
        except Exception:
            log.warning("outbox tasks wait for the delivery loop", task_ids=task_ids)

    async def deliver_due(self) -> int:
        """Carries out the tasks that are due; how many succeeded or were dropped."""
        return await self._deliver_where(
            self._table.c.next_attempt_time <= sa.func.now(), limit=BATCH
        )

    async def run(self, *, poll_seconds: float) -> None:
        """The delivery loop."""
        while True:
            try:
                while await self.deliver_due() == BATCH:
                    pass
            except Exception:  # a blip must not end the loop; the next pass may work
                log.exception("delivering outbox tasks failed")
            await asyncio.sleep(poll_seconds)

    async def _deliver_where(self, condition: sa.ColumnElement[bool], *, limit: int) -> int:
        table = self._table
        done = 0
        async with self._db.transaction() as db:
            rows = await db.execute(
                sa.select(table.c.id, table.c.task, table.c.payload)
                .where(condition)
                .order_by(table.c.next_attempt_time, table.c.id)
                .limit(limit)
                # Another process carrying out the same row now: leave it to that one.
                .with_for_update(skip_locked=True)
            )
            for row in rows.all():
                if await self._deliver_one(db, row.id, row.task, row.payload):
                    done += 1
        return done

    async def _deliver_one(
        self, db: AsyncConnection, task_id: int, task: str, payload: Payload
    ) -> bool:
        handler = self._handlers.get(task)
        try:
            if handler is None:
                raise Permanent(f"no handler for {task!r}")
            await handler(payload)
        except Permanent as failure:
            log.error("an outbox task failed for good; dropping it", task=task, error=str(failure))
        except Exception as error:
            await self._later(db, task_id, f"{type(error).__name__}: {error}")
            log.warning("an outbox task failed; retrying later", task=task, error=str(error))
            return False
        await db.execute(sa.delete(self._table).where(self._table.c.id == task_id))
        return True

    async def _later(self, db: AsyncConnection, task_id: int, error: str) -> None:
        table = self._table
        delay = sa.func.least(
            self._retry_max, self._retry_base * sa.func.power(2, table.c.attempts)
        )
        await db.execute(
            sa.update(table)
            .where(table.c.id == task_id)
            .values(
                attempts=table.c.attempts + 1,
                last_error=error[:500],
                next_attempt_time=sa.func.now() + interval(delay),
            )
        )
