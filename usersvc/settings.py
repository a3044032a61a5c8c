import math
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from runtime.settings import DataServiceSettings, SecretKey

# Password hashes at once when neither a number nor the container's memory is given.
DEFAULT_PASSWORD_HASHES_AT_ONCE = 4


class SmtpSecurity(StrEnum):
    # TLS from the first byte (port 465).
    TLS = "tls"
    # Plain, then STARTTLS before anything is sent (port 587).
    STARTTLS = "starttls"
    # No encryption: a relay on the same host or in-cluster only.
    NONE = "none"


class MailSettings(BaseModel):
    """Where usersvc's mail goes (NEUTONE_MAIL__*): an SMTP server when `smtp_host`
    is set, otherwise .eml files in `outbox_dir` (the embedded default)."""

    sender: str = "Neutone <no-reply@neutone.localhost>"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Unset: <data_dir>/outbox.
    outbox_dir: Path | None = None


class UserServiceSettings(DataServiceSettings):
    # HMAC key of page tokens (runtime.pagination: ListApiKeys), shared by the replicas.
    page_token_key: SecretKey
    session_ttl_days: int = Field(default=30, ge=1, le=365)
    # CreateIdentityToken calls per client per minute (sessions and API keys alike).
    token_exchanges_per_client_per_minute: int = Field(default=120, ge=1)
    # Sign-in limits, each over the failure window. An attempt is counted before its
    # password is checked (so parallel guesses cannot all be checked) and given back
    # when it succeeds, so in effect these count failures.
    # One client, one account: beyond this that client is refused for that account
    # (its owner's other clients are not).
    sign_in_failures_per_account_and_client: int = Field(default=5, ge=1)
    # One client, any accounts (password spraying): beyond this the client is refused.
    sign_in_failures_per_client: int = Field(default=20, ge=1)
    # One account, from all clients that never signed into it: beyond this their
    # attempts are spaced out evenly over the window (each waits its turn within its
    # deadline, and is refused only when the turn would not fit). Clients that signed
    # into the account before are exempt, so strangers cannot lock its owner out.
    sign_in_failures_per_account: int = Field(default=10, ge=1)
    sign_in_failure_window_seconds: int = Field(default=900, ge=1)
    # A client that signed into an account stays exempt from the account-wide rate for
    # this long after its latest successful sign-in.
    known_client_days: int = Field(default=90, ge=1)
    # Sign-ups (each costs a password hash) per client within the window.
    sign_ups_per_client: int = Field(default=10, ge=1)
    sign_up_window_seconds: int = Field(default=3600, ge=1)
    # argon2id cost; the defaults are RFC 9106's second recommended option.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8192)
    # Password hashes (sign-ups, sign-ins) running at once; each holds
    # password_memory_kib. The rest wait their turn within their deadline. Unset: as
    # many as fit in memory_limit_mib beside memory_reserve_mib, or 4 without a limit.
    password_hashes_at_once: int | None = Field(default=None, ge=1)
    # The container's memory limit (the chart passes the pod's limits.memory), and
    # what the process needs besides password hashes.
    memory_limit_mib: int | None = Field(default=None, ge=1)
    memory_reserve_mib: int = Field(default=256, ge=0)
    # Where the links in mail point: the browser app's address.
    app_url: str = "http://127.0.0.1:8080"
    mail: MailSettings = MailSettings()
    # How long an emailed link works.
    sign_up_link_hours: float = Field(default=24.0, gt=0)
    password_reset_link_minutes: float = Field(default=30.0, gt=0)
    # Password reset requests per client within the sign-up window.
    password_resets_per_client: int = Field(default=10, ge=1)
    # Mail to one address (confirmations, notices, reset links) within the sign-up
    # window: nobody can flood someone's inbox through Neutone.
    mails_per_address: int = Field(default=5, ge=1)

    @property
    def hashes_at_once(self) -> int:
        if self.password_hashes_at_once is not None:
            return self.password_hashes_at_once
        if self.memory_limit_mib is None:
            return DEFAULT_PASSWORD_HASHES_AT_ONCE
        per_hash_mib = math.ceil(self.password_memory_kib / 1024)
        return max(1, (self.memory_limit_mib - self.memory_reserve_mib) // per_hash_mib)

    @property
    def outbox_dir(self) -> Path:
        return self.mail.outbox_dir or self.data_dir / "outbox"
