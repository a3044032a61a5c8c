"""Credentials revoked lately, so that tokens minted from them stop working at once.

Identity tokens are verified by signature alone, and live for minutes. When a
session ends (sign-out, a password change, account deletion) or an API key is
revoked, usersvc records the credential in `users.revoked_credentials`; every
service process polls that table about once a second and refuses tokens minted
from a credential revoked within a token's lifetime. Polling by time, with an
overlap, misses no revocation however transactions interleave, and needs nothing
else to be up (usersvc's table is the one thing every service may read besides
its own schema)."""

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog

from runtime.database import Database

log = structlog.get_logger()

# usersvc owns the table (usersvc/tables.py); this is what every service reads of it.
revoked_credentials = sa.table(
    "revoked_credentials",
    sa.column("credential", sa.Text),
    sa.column("revoke_time", sa.DateTime(timezone=True)),
    schema="users",
)
# Each poll reads again what was revoked this long before the previous one, so a
# revocation whose transaction committed late is still seen.
OVERLAP = timedelta(seconds=30)


class Revocations:
    """`credential in revocations` while a token minted from it may still be alive."""

    def __init__(self, database: Database, *, token_ttl: timedelta, poll_seconds: float) -> None:
        self._db = database
        self._remember = token_ttl + OVERLAP
        self._poll_seconds = poll_seconds
        # Revoked credential -> when it was revoked (the database's clock).
        self._revoked: dict[str, datetime] = {}
        self._since: datetime | None = None

    def __contains__(self, credential: object) -> bool:
        return credential in self._revoked

    async def poll(self) -> None:
        async with self._db.connection() as db:
            now = (await db.execute(sa.select(sa.func.now()))).scalar_one()
            since = now - self._remember if self._since is None else self._since - OVERLAP
            rows = await db.execute(
                sa.select(
                    revoked_credentials.c.credential, revoked_credentials.c.revoke_time
                ).where(revoked_credentials.c.revoke_time > since)
            )
            self._revoked.update({row.credential: row.revoke_time for row in rows})
        self._since = now
        forget_before = now - self._remember
        for credential in [c for c, time in self._revoked.items() if time < forget_before]:
            del self._revoked[credential]

    async def run(self) -> None:
        """Polls until cancelled; a failed poll is retried at the next one."""
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.poll()
            except Exception:
                log.exception("reading revoked credentials failed")
