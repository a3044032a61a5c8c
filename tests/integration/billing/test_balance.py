"""Balances, the welcome grant, products and who may call what."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from runtime.identity import Identity, PrincipalKind
from tests.integration.helpers import StackKeys, bearer

WELCOME_GRANT = 3


def test_a_new_account_gets_the_welcome_grant_once(billing, new_user, table_rows) -> None:
    user = new_user()
    assert table_rows("accounts", "account_id", user.id) == 0

    assert billing.GetBalance(pb.GetBalanceRequest(), metadata=user.metadata).balance == 3
    assert billing.GetBalance(pb.GetBalanceRequest(), metadata=user.metadata).balance == 3

    listed = billing.ListTransactions(pb.ListTransactionsRequest(), metadata=user.metadata)
    assert [(t.kind, t.amount, t.balance_after) for t in listed.transactions] == [
        (billing_pb2.TRANSACTION_KIND_WELCOME_GRANT, WELCOME_GRANT, WELCOME_GRANT)
    ]
    assert table_rows("entries", "idempotency_key", f"welcome:{user.id}") == 1


def test_concurrent_first_calls_grant_once(billing, new_user, table_rows) -> None:
    user = new_user()
    requests = [pb.GetBalanceRequest()] * 20
    with ThreadPoolExecutor(max_workers=20) as pool:
        balances = list(
            pool.map(lambda r: billing.GetBalance(r, metadata=user.metadata).balance, requests)
        )
    assert balances == [WELCOME_GRANT] * 20
    assert table_rows("entries", "account_id", user.id) == 1
    assert table_rows("accounts", "account_id", user.id) == 1


def test_the_first_call_of_any_kind_opens_the_account(billing, new_user, reserve) -> None:
    user = new_user()
    # Reserving for a brand-new account: the welcome grant pays for it.
    reserved = reserve(user)
    assert reserved.balance == WELCOME_GRANT - 1
    kinds = [
        t.kind
        for t in billing.ListTransactions(
            pb.ListTransactionsRequest(), metadata=user.metadata
        ).transactions
    ]
    assert kinds == [
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_WELCOME_GRANT,
    ]


def test_list_products_is_public_and_cheapest_first(billing) -> None:
    products = billing.ListProducts(pb.ListProductsRequest()).products
    assert [(p.id, p.credits) for p in products] == [
        ("credits-10", 10),
        ("credits-25", 25),
        ("credits-50", 50),
    ]
    prices = [p.price_minor_units for p in products]
    assert prices == sorted(prices) and all(price > 0 for price in prices)
    assert all(p.currency == "usd" and p.display_name for p in products)


def test_each_caller_sees_only_their_own_balance(billing, new_user, reserve) -> None:
    alice, bob = new_user(), new_user()
    reserve(alice)
    reserve(alice)
    assert billing.GetBalance(pb.GetBalanceRequest(), metadata=alice.metadata).balance == 1
    # Bob's token reads Bob's account, whatever Alice did.
    assert billing.GetBalance(pb.GetBalanceRequest(), metadata=bob.metadata).balance == 3
    bobs = billing.ListTransactions(pb.ListTransactionsRequest(), metadata=bob.metadata)
    assert {t.kind for t in bobs.transactions} == {billing_pb2.TRANSACTION_KIND_WELCOME_GRANT}


@pytest.mark.parametrize(
    ("method", "request_message"),
    [
        ("GetBalance", pb.GetBalanceRequest()),
        ("ListTransactions", pb.ListTransactionsRequest()),
        ("CreateCheckoutSession", pb.CreateCheckoutSessionRequest(product_id="credits-10")),
        ("CreatePortalSession", pb.CreatePortalSessionRequest()),
    ],
)
def test_user_rpcs_need_a_user(billing, tokens: StackKeys, method, request_message) -> None:
    with pytest.raises(grpc.RpcError) as anonymous:
        getattr(billing, method)(request_message)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as forged:
        getattr(billing, method)(request_message, metadata=bearer("not.a.token"))
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED


INTERNAL_CALLS = [
    (
        "ReserveCredits",
        pb.ReserveCreditsRequest(user_id=str(uuid.uuid4()), song_id=str(uuid.uuid4())),
    ),
    ("CommitCredits", pb.CommitCreditsRequest(song_id=str(uuid.uuid4()))),
    ("ReleaseCredits", pb.ReleaseCreditsRequest(song_id=str(uuid.uuid4()))),
    ("ListReservations", pb.ListReservationsRequest()),
    ("ApplyPaymentEvent", pb.ApplyPaymentEventRequest(payload=b"{}")),
]


@pytest.mark.parametrize(("method", "request_message"), INTERNAL_CALLS)
def test_internal_rpcs_refuse_users(billing, new_user, method, request_message) -> None:
    user = new_user()
    with pytest.raises(grpc.RpcError) as as_user:
        getattr(billing, method)(request_message, metadata=user.metadata)
    assert as_user.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(("method", "request_message"), INTERNAL_CALLS)
def test_internal_rpcs_refuse_anonymous_callers(billing, method, request_message) -> None:
    with pytest.raises(grpc.RpcError) as anonymous:
        getattr(billing, method)(request_message)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_user_cannot_reserve_on_someone_elses_account(
    billing, new_user, tokens: StackKeys, table_rows
) -> None:
    victim, attacker = new_user(), new_user()
    with pytest.raises(grpc.RpcError) as refused:
        billing.ReserveCredits(
            pb.ReserveCreditsRequest(user_id=victim.id, song_id=str(uuid.uuid4())),
            metadata=attacker.metadata,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A user token claiming to be a service is still a user token.
    fake_service = (
        tokens.issuer("usersvc")
        .mint(Identity(kind=PrincipalKind.USER, subject="songsvc", credential="session:x"))
        .token
    )
    with pytest.raises(grpc.RpcError):
        billing.ReserveCredits(
            pb.ReserveCreditsRequest(user_id=victim.id, song_id=str(uuid.uuid4())),
            metadata=bearer(fake_service),
        )
    assert table_rows("accounts", "account_id", victim.id) == 0
