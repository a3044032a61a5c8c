"""Polar (polar.sh) as the payment provider, through polar-sdk.

The checkout names our account id as Polar's external customer id and our
product id in its metadata; Polar copies both onto the order, so the
`order.paid` webhook says whom to credit and with what."""

from uuid import UUID

import structlog
from polar import PolarClientError, PolarError
from polar.base import PolarRateLimitError
from polar.v2026_10 import PolarAsync

from billingsvc.events import PRODUCT_METADATA_KEY
from billingsvc.settings import ProductSettings
from runtime.errors import FailedPrecondition, ServiceError, Unavailable

log = structlog.get_logger()


class PolarProvider:
    def __init__(self, polar: PolarAsync) -> None:
        self._polar = polar

    async def create_checkout(
        self, *, account_id: UUID, product: ProductSettings, success_url: str
    ) -> str:
        if not product.polar_product_id:
            raise FailedPrecondition(f"{product.id} is not for sale at Polar")
        try:
            checkout = await self._polar.checkouts.create(
                products=[product.polar_product_id],
                external_customer_id=str(account_id),
                metadata={PRODUCT_METADATA_KEY: product.id},
                success_url=success_url,
            )
        except PolarError as error:
            raise _provider_failure(error, "checkout") from error
        return checkout.url

    async def create_portal(self, *, account_id: UUID, return_url: str) -> str:
        try:
            session = await self._polar.customer_sessions.create(
                external_customer_id=str(account_id), return_url=return_url
            )
        except PolarError as error:
            raise _provider_failure(error, "customer portal") from error
        return session.customer_portal_url


def _provider_failure(error: PolarError, action: str) -> ServiceError:
    log.warning("polar request failed", action=action, error=error.message)
    # Rate limits, outages and network errors pass; a refusal needs a person.
    if isinstance(error, PolarClientError) and not isinstance(error, PolarRateLimitError):
        return FailedPrecondition(
            f"the payment provider refused to open the {action}",
            reason="PAYMENT_PROVIDER_REFUSED",
        )
    return Unavailable(
        f"the payment provider is unavailable; try the {action} again",
        reason="PAYMENT_PROVIDER_UNAVAILABLE",
    )
