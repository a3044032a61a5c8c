import pytest

from runtime.settings import ServiceSettings, load_settings

KEY = "k" * 48


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_IDENTITY_KEY", KEY)
    monkeypatch.setenv("NEUTONE_PAGE_TOKEN_KEY", KEY)


@pytest.mark.parametrize("variable", ["NEUTONE_IDENTITY_KEY", "NEUTONE_PAGE_TOKEN_KEY"])
def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(SystemExit, match=variable):
        load_settings(ServiceSettings)


@pytest.mark.parametrize("variable", ["NEUTONE_IDENTITY_KEY", "NEUTONE_PAGE_TOKEN_KEY"])
def test_a_short_key_is_refused(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "short")
    with pytest.raises(SystemExit, match=f"{variable}: .*at least 32 bytes"):
        load_settings(ServiceSettings)


def test_production_requires_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUTONE_ENVIRONMENT", "production")
    monkeypatch.delenv("NEUTONE_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="NEUTONE_DATABASE_URL is required"):
        load_settings(ServiceSettings)
