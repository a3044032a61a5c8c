"""billingsvc's tables, in its own `billing` schema.

`entries` is the append-only ledger: a balance is the `balance_after` of the
account's latest entry, never stored anywhere else. Writers serialize per
account by locking its `accounts` row, so each entry extends the one before it."""

from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData(schema="billing")


class EntryKind(StrEnum):
    WELCOME_GRANT = "welcome_grant"
    PURCHASE = "purchase"
    SONG_CHARGE = "song_charge"
    SONG_REFUND = "song_refund"


class ReservationState(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


accounts = sa.Table(
    "accounts",
    metadata,
    # usersvc's account id; billing trusts it because it comes from identity tokens.
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

entries = sa.Table(
    "entries",
    metadata,
    # Increases with every append; per account it is also the ledger's order.
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "account_id", UUID(as_uuid=True), sa.ForeignKey(accounts.c.account_id), nullable=False
    ),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("balance_after", sa.Integer, nullable=False),
    # welcome:<account>, order:<provider order id>, charge:<song>, refund:<song>:
    # a retried write finds its entry instead of adding a second one.
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("song_id", UUID(as_uuid=True)),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint(_one_of("kind", EntryKind), name="entries_kind"),
    sa.CheckConstraint("amount <> 0", name="entries_amount_nonzero"),
    sa.CheckConstraint("balance_after >= 0", name="entries_balance_not_negative"),
    sa.Index("entries_account_id_id", "account_id", "id"),
)

reservations = sa.Table(
    "reservations",
    metadata,
    # One reservation per song, ever: a song is charged at most once.
    sa.Column("song_id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "account_id", UUID(as_uuid=True), sa.ForeignKey(accounts.c.account_id), nullable=False
    ),
    # The cost when reserved, so a later price change refunds what was taken.
    sa.Column("credits", sa.Integer, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column(
        "update_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint(_one_of("state", ReservationState), name="reservations_state"),
    sa.CheckConstraint("credits > 0", name="reservations_credits_positive"),
)

payment_events = sa.Table(
    "payment_events",
    metadata,
    # The webhook-id header: a redelivered webhook is recognised by it.
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column(
        "received_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("payload", JSONB, nullable=False),
)
