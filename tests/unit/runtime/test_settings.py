import pytest

from runtime.settings import ServiceSettings, load_settings


def test_missing_identity_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEUTONE_IDENTITY_KEY", raising=False)
    with pytest.raises(SystemExit, match="NEUTONE_IDENTITY_KEY"):
        load_settings(ServiceSettings)


def test_short_identity_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_IDENTITY_KEY", "short")
    with pytest.raises(SystemExit, match="at least 32 bytes"):
        load_settings(ServiceSettings)


def test_production_requires_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_IDENTITY_KEY", "k" * 48)
    monkeypatch.setenv("NEUTONE_ENVIRONMENT", "production")
    monkeypatch.delenv("NEUTONE_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="NEUTONE_DATABASE_URL is required"):
        load_settings(ServiceSettings)
