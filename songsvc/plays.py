"""Who a play is from, and forgetting it once its window is over.

A play counts once per listener per song per window (RecordPlay). The listener
is the signed-in account, or else the client's address; songsvc keeps only a
keyed hash of either (an unkeyed hash of an IPv4 address is undone by trying
all 2^32), and only until the window ends."""

import hashlib
import hmac
from uuid import UUID

from pydantic import SecretStr

from runtime.database import Database
from runtime.identity import Identity
from songsvc import store

LISTENER_BYTES = 16


class Listeners:
    def __init__(self, key: SecretStr) -> None:
        # A key of its own, derived from the page-token key, so that neither use
        # can stand in for the other.
        self._key = hmac.new(
            key.get_secret_value().encode(), b"neutone play listeners", hashlib.sha256
        ).digest()

    def of(self, identity: Identity | None, client_address: str) -> bytes:
        """The stored form of whoever is calling."""
        if identity is not None and identity.is_user:
            return self.of_account(UUID(identity.subject))
        return self._hash(f"client:{client_address}")

    def of_account(self, account_id: UUID) -> bytes:
        return self._hash(f"account:{account_id}")

    def _hash(self, listener: str) -> bytes:
        return hmac.new(self._key, listener.encode(), hashlib.sha256).digest()[:LISTENER_BYTES]


async def prune_listens(database: Database) -> int:
    """Deletes the listens whose window is over; how many. Every songsvc replica
    does it now and then; a delete that finds nothing left costs an index probe."""
    async with database.transaction() as db:
        return await store.prune_listens(db)
