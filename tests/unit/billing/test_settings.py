"""billingsvc's settings refuse what cannot work, with a message naming why."""

import json

import pytest
from pydantic import ValidationError

from billingsvc.settings import BillingServiceSettings, ProviderKind

BASE = {
    "NEUTONE_PAGE_TOKEN_KEY": "p" * 48,
    "NEUTONE_PAYMENT_WEBHOOK_SECRET": "whsec_c2VjcmV0",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    def apply(**values: str) -> None:
        for name, value in {**BASE, **values}.items():
            monkeypatch.setenv(name, value)

    return apply


def test_defaults(env) -> None:
    env()
    settings = BillingServiceSettings()
    assert settings.payment_provider is ProviderKind.LOCAL
    assert (settings.welcome_grant_credits, settings.song_cost_credits) == (3, 1)
    assert [(p.id, p.credits) for p in settings.products] == [
        ("credits-10", 10),
        ("credits-25", 25),
        ("credits-50", 50),
    ]
    assert settings.local_checkout_address == "127.0.0.1:8091"


def test_the_webhook_secret_is_required(env, monkeypatch: pytest.MonkeyPatch) -> None:
    env(NEUTONE_PAYMENT_WEBHOOK_SECRET="  ")
    with pytest.raises(ValidationError, match="must not be empty"):
        BillingServiceSettings()
    monkeypatch.delenv("NEUTONE_PAYMENT_WEBHOOK_SECRET")
    with pytest.raises(ValidationError, match="payment_webhook_secret"):
        BillingServiceSettings()


def test_the_local_provider_is_refused_in_production(env) -> None:
    env(
        NEUTONE_ENVIRONMENT="production",
        NEUTONE_DATABASE_URL="postgresql://db/neutone",
        NEUTONE_KEYS_DIR="/etc/neutone/keys",
    )
    with pytest.raises(ValidationError, match="refused in production"):
        BillingServiceSettings()


def test_polar_needs_a_token_and_every_product_mapped(env, monkeypatch) -> None:
    env(NEUTONE_PAYMENT_PROVIDER="polar")
    with pytest.raises(ValidationError, match="NEUTONE_POLAR_ACCESS_TOKEN"):
        BillingServiceSettings()
    monkeypatch.setenv("NEUTONE_POLAR_ACCESS_TOKEN", "polar_oat_x")
    with pytest.raises(ValidationError, match="credits-10, credits-25, credits-50"):
        BillingServiceSettings()
    products = [
        {
            "id": "credits-50",
            "display_name": "50",
            "credits": 50,
            "price_minor_units": 1800,
            "polar_product_id": "p50",
        },
        {
            "id": "credits-10",
            "display_name": "10",
            "credits": 10,
            "price_minor_units": 500,
            "polar_product_id": "p10",
        },
    ]
    monkeypatch.setenv("NEUTONE_PRODUCTS", json.dumps(products))
    settings = BillingServiceSettings()
    # Cheapest first, whatever order they were configured in.
    assert [p.id for p in settings.products] == ["credits-10", "credits-50"]
    assert settings.product("credits-50").polar_product_id == "p50"
    assert settings.product("credits-25") is None


@pytest.mark.parametrize(
    "products",
    [
        [],
        [{"id": "a", "display_name": "A", "credits": 1, "price_minor_units": 1}] * 2,
        [{"id": "Bad Id", "display_name": "A", "credits": 1, "price_minor_units": 1}],
        [{"id": "a", "display_name": "A", "credits": 0, "price_minor_units": 1}],
    ],
)
def test_bad_product_lists_are_refused(env, monkeypatch, products) -> None:
    env(NEUTONE_PRODUCTS=json.dumps(products))
    with pytest.raises(ValidationError):
        BillingServiceSettings()
