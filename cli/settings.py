"""Where the CLI finds the services and its credentials: NEUTONE_ environment
variables, the same names and defaults as the services' own settings."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import ServiceSettings

# The services' own defaults, so that a client and `make up` agree without saying so.
_SERVICE_FIELDS = ServiceSettings.model_fields


def _default_session_file() -> Path:
    return Path.home() / ".config" / "neutone" / "session"


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEUTONE_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    usersvc_address: str = _SERVICE_FIELDS["usersvc_address"].default
    songsvc_address: str = _SERVICE_FIELDS["songsvc_address"].default
    billingsvc_address: str = _SERVICE_FIELDS["billingsvc_address"].default
    # An API key's secret (`ntk_...`, from `neutone keys create`); when set, every
    # command uses it instead of the signed-in session.
    api_key: SecretStr | None = None
    # Where `neutone signin` keeps the session token (readable by its owner only).
    cli_session_file: Path = Field(default_factory=_default_session_file)
