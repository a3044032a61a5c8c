"""billingsvc's settings: the ledger's prices, the products for sale and the
payment provider. All come from NEUTONE_ environment variables; the product list
is JSON (NEUTONE_PRODUCTS='[{"id": "credits-10", ...}]')."""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from runtime.settings import DataServiceSettings, SecretKey

MAX_URL_LENGTH = 2048


class ProviderKind(StrEnum):
    # A checkout page served by billingsvc itself; for the embedded default only.
    LOCAL = "local"
    POLAR = "polar"


class ProductSettings(BaseModel):
    """A credit pack for sale."""

    model_config = {"frozen": True}

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    display_name: str = Field(min_length=1, max_length=100)
    credits: int = Field(ge=1, le=100_000)
    price_minor_units: int = Field(ge=0)
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    # The product's id at Polar; required when the provider is `polar`.
    polar_product_id: str | None = None


DEFAULT_PRODUCTS = (
    ProductSettings(id="credits-10", display_name="10 credits", credits=10, price_minor_units=500),
    ProductSettings(id="credits-25", display_name="25 credits", credits=25, price_minor_units=1000),
    ProductSettings(id="credits-50", display_name="50 credits", credits=50, price_minor_units=1800),
)


class BillingServiceSettings(DataServiceSettings):
    # HMAC key of page tokens (runtime.pagination), shared by the replicas.
    page_token_key: SecretKey
    # Credits a new account receives on its first billing call.
    welcome_grant_credits: int = Field(default=3, ge=0, le=1000)
    # Credits one song costs.
    song_cost_credits: int = Field(default=1, ge=1, le=1000)
    products: tuple[ProductSettings, ...] = DEFAULT_PRODUCTS

    payment_provider: ProviderKind = ProviderKind.LOCAL
    # Signs payment webhooks (Standard Webhooks): Polar's endpoint secret, or any
    # `whsec_<base64>` secret for the local provider. Required for both.
    payment_webhook_secret: SecretStr
    polar_access_token: SecretStr | None = None
    polar_server: Literal["production", "sandbox"] = "sandbox"
    # Where the browser goes after a checkout / from the portal when the request names none.
    default_success_url: str = Field(
        default="http://127.0.0.1:8080/credits?checkout=success", max_length=MAX_URL_LENGTH
    )
    default_return_url: str = Field(
        default="http://127.0.0.1:8080/credits", max_length=MAX_URL_LENGTH
    )
    # The local provider's checkout and portal pages (host:port); unused for Polar.
    local_checkout_address: str = "127.0.0.1:8091"

    @field_validator("payment_webhook_secret")
    @classmethod
    def _secret_is_set(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("products")
    @classmethod
    def _products_are_distinct(
        cls, value: tuple[ProductSettings, ...]
    ) -> tuple[ProductSettings, ...]:
        if not value:
            raise ValueError("at least one product is required")
        if len({product.id for product in value}) != len(value):
            raise ValueError("product ids must be unique")
        return tuple(sorted(value, key=lambda product: (product.price_minor_units, product.id)))

    @model_validator(mode="after")
    def _provider_is_usable(self) -> "BillingServiceSettings":
        if self.payment_provider is ProviderKind.LOCAL and self.is_production:
            raise ValueError(
                "the local payment provider grants credits without payment and is refused "
                "in production: set NEUTONE_PAYMENT_PROVIDER=polar"
            )
        if self.payment_provider is ProviderKind.POLAR:
            if self.polar_access_token is None:
                raise ValueError("NEUTONE_POLAR_ACCESS_TOKEN is required for the polar provider")
            unmapped = [product.id for product in self.products if not product.polar_product_id]
            if unmapped:
                raise ValueError(
                    "the polar provider needs a polar_product_id for every product; missing for "
                    + ", ".join(unmapped)
                )
        return self

    def product(self, product_id: str) -> ProductSettings | None:
        return next((product for product in self.products if product.id == product_id), None)
