"""The gateway's settings: origins and cookies by environment."""

import pytest

from gateway.settings import GatewaySettings
from runtime.settings import load_settings


def test_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(GatewaySettings)
    assert settings.origins == ("http://127.0.0.1:8080", "http://localhost:8080")
    assert settings.secure_cookies is False


def test_production_needs_its_origins_and_gets_secure_cookies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEUTONE_ENVIRONMENT", "production")
    monkeypatch.setenv("NEUTONE_KEYS_DIR", "/etc/neutone/keys")
    with pytest.raises(SystemExit, match="NEUTONE_ALLOWED_ORIGINS is required in production"):
        load_settings(GatewaySettings)
    monkeypatch.setenv("NEUTONE_ALLOWED_ORIGINS", '["https://neutone.example/"]')
    settings = load_settings(GatewaySettings)
    assert settings.origins == ("https://neutone.example",)
    assert settings.secure_cookies is True
