"""The local provider's signed checkout and portal links."""

import uuid
from datetime import timedelta

import pytest

from billingsvc import local_provider
from billingsvc.local_provider import LocalProvider
from billingsvc.settings import DEFAULT_PRODUCTS

ACCOUNT = uuid.uuid4()


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider(webhook_secret="whsec_c2VjcmV0", base_url="http://127.0.0.1:8091/")


def token_of(url: str) -> str:
    return url.rpartition("/")[2]


async def test_checkout_links_round_trip(provider: LocalProvider) -> None:
    url = await provider.create_checkout(
        account_id=ACCOUNT, product=DEFAULT_PRODUCTS[1], success_url="https://n.example/ok"
    )
    assert url.startswith("http://127.0.0.1:8091/checkout/")
    link = provider.checkout(token_of(url))
    assert link is not None
    assert (link.account_id, link.product_id, link.success_url) == (
        ACCOUNT,
        "credits-25",
        "https://n.example/ok",
    )
    # Each checkout is its own order.
    again = await provider.create_checkout(
        account_id=ACCOUNT, product=DEFAULT_PRODUCTS[1], success_url="https://n.example/ok"
    )
    assert provider.checkout(token_of(again)).checkout_id != link.checkout_id


async def test_links_are_bound_to_their_purpose_and_key(provider: LocalProvider) -> None:
    portal = token_of(await provider.create_portal(account_id=ACCOUNT, return_url="https://n/"))
    assert provider.portal(portal).account_id == ACCOUNT
    assert provider.checkout(portal) is None
    other = LocalProvider(webhook_secret="whsec_b3RoZXI=", base_url="http://x")
    assert other.portal(portal) is None
    assert provider.portal("garbage") is None


async def test_expired_links_are_refused(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_provider, "LINK_TTL", timedelta(seconds=-1))
    portal = token_of(await provider.create_portal(account_id=ACCOUNT, return_url="https://n/"))
    assert provider.portal(portal) is None
