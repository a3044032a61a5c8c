"""Settings from files (runtime.settings): a Secret mounted as files, one per
setting named as its variable, so that no secret sits in a process's environment."""

from pathlib import Path

import pytest

from runtime.settings import SECRETS_DIR_VARIABLE, DatabaseSettings, load_settings
from songsvc.settings import SongsSettings
from usersvc.settings import UserServiceSettings

PAGE_TOKEN_KEY = "k" * 40


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory laid out as Kubernetes mounts a Secret volume: each file a link
    into a hidden, timestamped directory that an update swaps atomically."""
    data = tmp_path / "..2026_12_06_22_00_00.1"
    data.mkdir()
    (tmp_path / "..data").symlink_to(data.name)
    for name, value in {
        "NEUTONE_DATABASE_URL": "postgresql://songs:secret@db:5432/neutone\n",
        "NEUTONE_PAGE_TOKEN_KEY": PAGE_TOKEN_KEY,
        "NEUTONE_MAIL__SMTP_PASSWORD": "smtp-secret",
    }.items():
        (data / name).write_text(value)
        (tmp_path / name).symlink_to(f"..data/{name}")
    for variable in (
        "NEUTONE_DATABASE_URL",
        "NEUTONE_PAGE_TOKEN_KEY",
        "NEUTONE_MAIL__SMTP_PASSWORD",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_settings_come_from_files_named_as_their_variables(secrets_dir: Path) -> None:
    settings = load_settings(UserServiceSettings)
    # The trailing newline a file usually ends with is not part of the value.
    assert settings.database_url == "postgresql://songs:secret@db:5432/neutone"
    assert settings.page_token_key.get_secret_value() == PAGE_TOKEN_KEY
    # A nested setting's file is named as its nested variable.
    assert settings.mail.smtp_password.get_secret_value() == "smtp-secret"


def test_a_variable_wins_over_a_file(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_DATABASE_URL", "postgresql://other@db/neutone")
    assert load_settings(DatabaseSettings).database_url == "postgresql://other@db/neutone"


def test_a_secrets_dir_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(tmp_path / "not-mounted"))
    with pytest.raises(SystemExit, match=r"NEUTONE_SECRETS_DIR: directory .* does not exist"):
        load_settings(DatabaseSettings)


def test_static_s3_keys_come_from_files_and_only_in_pairs(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (secrets_dir / "NEUTONE_OBJECT_STORE__S3_ACCESS_KEY_ID").write_text("AKIAEXAMPLE")
    monkeypatch.setenv("NEUTONE_OBJECT_STORE__KIND", "s3")
    with pytest.raises(SystemExit, match="set together or not at all"):
        load_settings(SongsSettings)
    (secrets_dir / "NEUTONE_OBJECT_STORE__S3_SECRET_ACCESS_KEY").write_text("secret-key")
    store = load_settings(SongsSettings).object_store
    assert store.s3_access_key_id.get_secret_value() == "AKIAEXAMPLE"
    assert store.s3_secret_access_key.get_secret_value() == "secret-key"
