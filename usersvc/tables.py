"""usersvc's tables, in its own `users` schema."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from runtime.ratelimit import rate_limit_table

metadata = sa.MetaData(schema="users")

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    ),
    # Stored normalised (trimmed, lower-cased), so the unique constraint is case-insensitive.
    sa.Column("email", sa.Text, nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    ),
    sa.Column(
        "account_id",
        UUID(as_uuid=True),
        sa.ForeignKey(accounts.c.id, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # SHA-256 of the token: a leaked table cannot be replayed as sessions.
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoke_time", sa.DateTime(timezone=True)),
)

# Sign-in and sign-up limits (runtime.ratelimit).
rate_limits = rate_limit_table(metadata)

# Clients that signed into an account, exempt from its account-wide sign-in rate.
known_clients = sa.Table(
    "known_clients",
    metadata,
    sa.Column(
        "account_id",
        UUID(as_uuid=True),
        sa.ForeignKey(accounts.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    # HMAC-SHA-256 of (account, client address) under a key derived from the identity
    # key: a leaked table names no addresses, nor links one address across accounts.
    sa.Column("client_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "last_sign_in_time",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
    ),
)

# No longer written (rate_limits replaced it). Kept until the release after this
# one, so that pods of the previous release still work during a rollout or rollback.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("client_address", sa.Text, nullable=False),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index("sign_in_failures_email_time", "email", "create_time"),
    sa.Index("sign_in_failures_client_time", "client_address", "create_time"),
)
