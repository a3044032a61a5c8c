from pydantic import Field

from runtime.settings import ServiceSettings


class UserServiceSettings(ServiceSettings):
    session_ttl_days: int = Field(default=30, ge=1, le=365)
    # Sign-in failures allowed within the window, per account and per client address.
    sign_in_failures_per_account: int = Field(default=5, ge=1)
    sign_in_failures_per_client: int = Field(default=20, ge=1)
    sign_in_failure_window_seconds: int = Field(default=900, ge=1)
    # argon2id cost; the defaults are RFC 9106's second recommended option.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8192)
