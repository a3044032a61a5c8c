"""The payment provider interface: where the browser goes to pay, and where it
manages what it bought. Credits are granted only by verified payment webhooks,
never by these calls."""

from typing import Protocol
from uuid import UUID

from billingsvc.settings import ProductSettings


class PaymentProvider(Protocol):
    async def create_checkout(
        self, *, account_id: UUID, product: ProductSettings, success_url: str
    ) -> str:
        """The URL of a checkout page for `product`, paid for by `account_id`."""
        ...

    async def create_portal(self, *, account_id: UUID, return_url: str) -> str:
        """The URL of the account's customer portal (orders, receipts)."""
        ...
