"""billingsvc's tables, in its own `billing` schema.

`entries` is the append-only ledger: a balance is the `balance_after` of the
account's latest entry, never stored anywhere else. Writers serialize per
account by locking its `accounts` row, so each entry extends the one before it.
`purchases` and `refunds` hold the payment provider's facts that the ledger's
clawbacks are computed from; the credits themselves move only in `entries`."""

from collections.abc import Iterable
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData(schema="billing")


class EntryKind(StrEnum):
    WELCOME_GRANT = "welcome_grant"
    PURCHASE = "purchase"
    SONG_CHARGE = "song_charge"
    SONG_REFUND = "song_refund"
    # Credits taken back because the provider refunded (part of) their purchase.
    PURCHASE_REFUND = "purchase_refund"
    # Credits taken back because the buyer disputed the payment with their bank.
    CHARGEBACK = "chargeback"


# The only entries that may leave a balance below zero: the credits were spent
# before their payment came back, and the debt is kept rather than forgotten.
CLAWBACK_KINDS = (EntryKind.PURCHASE_REFUND, EntryKind.CHARGEBACK)


# The provider's refund statuses: only a succeeded refund moved money back (a
# pending one may still fail or be canceled).
REFUND_PENDING = "pending"
REFUND_SUCCEEDED = "succeeded"


class ReservationState(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"


def _one_of(column: str, values: Iterable[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(value.value) for value in values)})"


# Nothing but a clawback takes a balance below zero; a credit added to a
# negative balance (a purchase, a song's refund) is still accepted.
BALANCE_RULE = f"balance_after >= 0 OR amount > 0 OR {_one_of('kind', CLAWBACK_KINDS)}"


accounts = sa.Table(
    "accounts",
    metadata,
    # usersvc's account id; billing trusts it because it comes from identity tokens.
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # Set when the person deleted their account (DetachAccount): the entries stay,
    # and the account takes no more credits.
    sa.Column("detach_time", sa.DateTime(timezone=True)),
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
    # welcome:<account>, order:<provider order id>, charge:<song>, refund:<song>,
    # clawback:<order>:<credits taken back by then>: a retried write finds its
    # entry instead of adding a second one.
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("song_id", UUID(as_uuid=True)),
    # The provider order a clawback takes credits back from.
    sa.Column("order_id", sa.Text),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint(_one_of("kind", EntryKind), name="entries_kind"),
    sa.CheckConstraint("amount <> 0", name="entries_amount_nonzero"),
    sa.CheckConstraint(BALANCE_RULE, name="entries_balance_negative_only_by_clawback"),
    sa.Index("entries_account_id_id", "account_id", "id"),
    sa.Index("entries_order_id", "order_id", postgresql_where=sa.text("order_id IS NOT NULL")),
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
    # ListReservations: oldest first within a state (reconciliation reads the
    # RESERVED ones), or across all states.
    sa.Index("reservations_state_create_time", "state", "create_time", "song_id"),
    sa.Index("reservations_create_time", "create_time", "song_id"),
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

purchases = sa.Table(
    "purchases",
    metadata,
    # The provider's order id; its PURCHASE entry's key is order:<order_id>.
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column(
        "account_id", UUID(as_uuid=True), sa.ForeignKey(accounts.c.account_id), nullable=False
    ),
    # Granted when paid: what a refund takes back from, whatever the products are now.
    sa.Column("credits", sa.Integer, nullable=False),
    # What the provider's refunds of this order are measured against (minor
    # units, before tax: Polar's net amount plus any customer balance applied).
    sa.Column("paid_amount", sa.BigInteger, nullable=False),
    # The most the provider's order events have reported refunded so far.
    sa.Column("reported_refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("credits > 0", name="purchases_credits_positive"),
    sa.CheckConstraint("paid_amount >= 0", name="purchases_paid_amount_not_negative"),
    sa.CheckConstraint(
        "reported_refunded_amount >= 0", name="purchases_reported_refunded_amount_not_negative"
    ),
)

refunds = sa.Table(
    "refunds",
    metadata,
    # The provider's refund id: refund.created and refund.updated of one refund
    # update one row.
    sa.Column("refund_id", sa.Text, primary_key=True),
    # Not a foreign key: a refund may be reported for an order billing never
    # granted (or has not granted yet), and is kept all the same.
    sa.Column("order_id", sa.Text, nullable=False),
    # Minor units before tax, as the provider reports it; counted only once succeeded.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    # True when the refund settles a dispute (a chargeback the provider headed off).
    sa.Column("disputed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "update_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("amount >= 0", name="refunds_amount_not_negative"),
    sa.Index("refunds_order_id", "order_id"),
)
