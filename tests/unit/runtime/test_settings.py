import pytest

from runtime.settings import DataServiceSettings, ServiceSettings, load_settings
from songsvc.settings import SongServiceSettings


def test_a_missing_page_token_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEUTONE_PAGE_TOKEN_KEY", raising=False)
    with pytest.raises(SystemExit, match="NEUTONE_PAGE_TOKEN_KEY"):
        load_settings(SongServiceSettings)


def test_a_short_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_PAGE_TOKEN_KEY", "short")
    with pytest.raises(SystemExit, match=r"NEUTONE_PAGE_TOKEN_KEY: .*at least 32 bytes"):
        load_settings(SongServiceSettings)


def test_production_requires_a_database_url_and_a_keys_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEUTONE_ENVIRONMENT", "production")
    monkeypatch.delenv("NEUTONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEUTONE_KEYS_DIR", "/etc/neutone/keys")
    with pytest.raises(SystemExit, match="NEUTONE_DATABASE_URL is required"):
        load_settings(DataServiceSettings)
    monkeypatch.setenv("NEUTONE_DATABASE_URL", "postgresql://db/neutone")
    assert str(load_settings(DataServiceSettings).identity_keys_dir) == "/etc/neutone/keys"
    monkeypatch.delenv("NEUTONE_KEYS_DIR")
    with pytest.raises(SystemExit, match="NEUTONE_KEYS_DIR is required"):
        load_settings(DataServiceSettings)


def test_the_gateway_needs_no_database_even_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_ENVIRONMENT", "production")
    monkeypatch.setenv("NEUTONE_KEYS_DIR", "/etc/neutone/keys")
    monkeypatch.delenv("NEUTONE_DATABASE_URL", raising=False)
    assert load_settings(ServiceSettings).is_production
