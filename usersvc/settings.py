import math

from pydantic import Field

from runtime.settings import DataServiceSettings, SecretKey

# Password hashes at once when neither a number nor the container's memory is given.
DEFAULT_PASSWORD_HASHES_AT_ONCE = 4


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

    @property
    def hashes_at_once(self) -> int:
        if self.password_hashes_at_once is not None:
            return self.password_hashes_at_once
        if self.memory_limit_mib is None:
            return DEFAULT_PASSWORD_HASHES_AT_ONCE
        per_hash_mib = math.ceil(self.password_memory_kib / 1024)
        return max(1, (self.memory_limit_mib - self.memory_reserve_mib) // per_hash_mib)
