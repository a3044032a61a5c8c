"""usersvc's tables, in its own `users` schema."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from runtime.outbox import outbox_table
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

# API keys: credentials internal clients exchange for identity tokens.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    ),
    sa.Column(
        "account_id",
        UUID(as_uuid=True),
        sa.ForeignKey(accounts.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("display_name", sa.Text, nullable=False),
    # SHA-256 of the secret, as for session tokens; the prefix tells keys apart.
    sa.Column("secret_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("secret_prefix", sa.Text, nullable=False),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("expire_time", sa.DateTime(timezone=True)),
    sa.Column("revoke_time", sa.DateTime(timezone=True)),
    sa.Column("last_use_time", sa.DateTime(timezone=True)),
    sa.Index(
        "api_keys_account_recent", "account_id", sa.text("create_time DESC"), sa.text("id DESC")
    ),
)

# Credentials revoked lately ("session:<id>", "apikey:<id>"): every service reads
# this (runtime.revocations) to refuse tokens minted from them before they expire.
# Rows older than a token's lifetime mean nothing and are pruned.
revoked_credentials = sa.Table(
    "revoked_credentials",
    metadata,
    sa.Column("credential", sa.Text, primary_key=True),
    sa.Column(
        "revoke_time",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.clock_timestamp(),
    ),
    sa.Index("revoked_credentials_time", "revoke_time"),
)

# Sign-ups waiting for their address to be confirmed (ConfirmSignUp): the account is
# made from the row, which goes once used or expired. The token is stored hashed.
sign_ups = sa.Table(
    "sign_ups",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False, index=True),
)

# Password reset links (ResetPassword): single use; a password change ends them all.
password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "account_id",
        UUID(as_uuid=True),
        sa.ForeignKey(accounts.c.id, ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False, index=True),
)

# Mail to send, and what songsvc and billingsvc must be told about an account
# (runtime.outbox): written with the change that calls for it.
outbox = outbox_table(metadata)

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
    # HMAC-SHA-256 of (account, client address) under a key derived from usersvc's
    # signing key: a leaked table names no addresses, nor links one address across
    # accounts.
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
