"""Settings shared by every service. Each service subclasses `ServiceSettings`
(`DataServiceSettings` when it keeps data in the database) with its own fields;
all come from `NEUTONE_`-prefixed environment variables, or from files.

Secrets are best kept out of the environment (it is inherited by every child
process and shown by `kubectl describe`): any setting may instead be a file named
as its variable, e.g. `NEUTONE_DATABASE_URL` or `NEUTONE_MAIL__SMTP_PASSWORD`, in
the directory NEUTONE_SECRETS_DIR names (the chart mounts each pod's Secrets
there). A variable set in the environment wins over a file."""

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

# The directory of settings files (one per setting, named as its variable).
SECRETS_DIR_VARIABLE = "NEUTONE_SECRETS_DIR"
# The least key material for an HMAC key (page tokens, media URLs).
MIN_KEY_BYTES = 32


def _long_enough(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value().encode()) < MIN_KEY_BYTES:
        raise ValueError(f"must be at least {MIN_KEY_BYTES} bytes")
    return value


# A secret HMAC key setting.
SecretKey = Annotated[SecretStr, AfterValidator(_long_enough)]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class CommonSettings(BaseSettings):
    """What every process reads: its environment and where its local data is."""

    model_config = SettingsConfigDict(
        env_prefix="NEUTONE_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
        # A secrets directory that was named must exist: a missing mount is an error.
        secrets_dir_missing="error",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Files named like nested variables (NEUTONE_MAIL__SMTP_PASSWORD) fill nested fields.
        files = NestedSecretsSettingsSource(
            file_secret_settings, secrets_dir=os.environ.get(SECRETS_DIR_VARIABLE) or None
        )
        return init_settings, env_settings, dotenv_settings, files

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


class DatabaseSettings(CommonSettings):
    """Where the database is: what the migration command needs, and every service
    that keeps data."""

    # PostgreSQL URL; when unset (development only) an embedded server from the
    # pgserver wheel is started under `data_dir`.
    database_url: str | None = None

    @model_validator(mode="after")
    def _production_needs_a_database(self) -> "DatabaseSettings":
        if self.environment is Environment.PRODUCTION and not self.database_url:
            raise ValueError("NEUTONE_DATABASE_URL is required in production")
        return self


class ServiceSettings(CommonSettings):
    # Where this process's own private key (`<principal>.pem`) and the public keys
    # every process trusts (`trusted-keys.json`) are (runtime.keys). Unset in
    # development: <data_dir>/keys, which `make up` fills.
    keys_dir: Path | None = None
    identity_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    # How often a service reads the credentials revoked lately (runtime.revocations):
    # tokens minted from them stop working within about this long.
    revocation_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    # Prometheus metrics on this port; 0 turns the endpoint off.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # Where every service listens; also how the others reach it.
    usersvc_address: str = "127.0.0.1:50051"
    songsvc_address: str = "127.0.0.1:50052"
    billingsvc_address: str = "127.0.0.1:50053"
    # Overrides the service's own address for listening (e.g. "0.0.0.0:50051" in a pod).
    listen_address: str | None = None
    # Deadline applied to unary calls that arrive without one.
    default_deadline_seconds: float = Field(default=30.0, gt=0)
    # Services whose word about the end client's address (x-forwarded-for beside
    # their service identity) is believed; every other caller is its own peer address.
    trusted_proxy_services: tuple[str, ...] = ("gateway",)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _production_names_its_keys(self) -> "ServiceSettings":
        if self.is_production and self.keys_dir is None:
            raise ValueError("NEUTONE_KEYS_DIR is required in production")
        return self

    @property
    def identity_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"


class DataServiceSettings(ServiceSettings, DatabaseSettings):
    """A service with data of its own in the database (all but the gateway)."""


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Reads settings from the environment and the files in NEUTONE_SECRETS_DIR, or
    exits with a message naming what is wrong."""
    try:
        return cls()
    except ValidationError as error:
        problems = "; ".join(
            f"NEUTONE_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"]
            for e in error.errors()
        )
        raise SystemExit(f"invalid settings: {problems}") from None
    except SettingsError as error:  # NEUTONE_SECRETS_DIR is not a readable directory
        raise SystemExit(f"invalid settings: {SECRETS_DIR_VARIABLE}: {error}") from None
