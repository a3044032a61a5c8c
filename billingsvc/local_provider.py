"""The `local` payment provider of the embedded default: checkout and portal
pages served by billingsvc itself (see local_pages.py). Paying there sends a
signed `order.paid` webhook through the same RPC the real provider's webhook
reaches, so the whole purchase path runs without Polar.

Links carry their facts in a short-lived signed token, so nobody can point a
checkout at another account or redirect the browser somewhere else."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from uuid import UUID

import jwt

from billingsvc.settings import ProductSettings

LINK_TTL = timedelta(hours=1)
ALGORITHM = "HS256"
CHECKOUT_AUDIENCE = "neutone-local-checkout"
PORTAL_AUDIENCE = "neutone-local-portal"


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    # One checkout pays at most one order, however often its Pay button is pressed.
    checkout_id: str
    account_id: UUID
    product_id: str
    success_url: str


@dataclass(frozen=True, slots=True)
class PortalLink:
    account_id: UUID
    return_url: str


class LocalProvider:
    def __init__(self, *, webhook_secret: str, base_url: str) -> None:
        # A key of its own, so a link token can never pass as anything else.
        self._key = hmac.new(
            webhook_secret.encode(), b"neutone local checkout links", hashlib.sha256
        ).hexdigest()
        self._base_url = base_url.rstrip("/")

    async def create_checkout(
        self, *, account_id: UUID, product: ProductSettings, success_url: str
    ) -> str:
        token = self._sign(
            CHECKOUT_AUDIENCE,
            {
                "sub": str(account_id),
                "checkout": uuid.uuid4().hex,
                "product": product.id,
                "success_url": success_url,
            },
        )
        return f"{self._base_url}/checkout/{quote(token)}"

    async def create_portal(self, *, account_id: UUID, return_url: str) -> str:
        token = self._sign(PORTAL_AUDIENCE, {"sub": str(account_id), "return_url": return_url})
        return f"{self._base_url}/portal/{quote(token)}"

    def checkout(self, token: str) -> CheckoutLink | None:
        """The checkout a link token stands for; None when forged or expired."""
        claims = self._read(CHECKOUT_AUDIENCE, token)
        if claims is None:
            return None
        return CheckoutLink(
            checkout_id=claims["checkout"],
            account_id=UUID(claims["sub"]),
            product_id=claims["product"],
            success_url=claims["success_url"],
        )

    def portal(self, token: str) -> PortalLink | None:
        claims = self._read(PORTAL_AUDIENCE, token)
        if claims is None:
            return None
        return PortalLink(account_id=UUID(claims["sub"]), return_url=claims["return_url"])

    def _sign(self, audience: str, claims: dict[str, str]) -> str:
        expires = datetime.now(UTC) + LINK_TTL
        return jwt.encode({**claims, "aud": audience, "exp": expires}, self._key, ALGORITHM)

    def _read(self, audience: str, token: str) -> dict[str, str] | None:
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=audience,
                options={"require": ["exp", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            return None
