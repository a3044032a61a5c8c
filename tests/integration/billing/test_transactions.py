"""ListTransactions: newest first, keyset pages, and their limits."""

import itertools

import grpc
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from runtime.launcher import Stack
from runtime.pagination import PageTokens, SerialPosition
from tests.integration.forged_tokens import forged_tokens
from tests.integration.helpers import field_violations


def test_pages_walk_the_ledger_newest_first(billing, new_user, reserve, service_metadata) -> None:
    user = new_user()
    songs = [reserve(user).reservation.song_id for _ in range(3)]
    billing.ReleaseCredits(pb.ReleaseCreditsRequest(song_id=songs[0]), metadata=service_metadata)
    # Ledger: welcome +3, three charges, one refund = 5 entries.
    seen: list[billing_pb2.Transaction] = []
    token = ""
    pages = 0
    while True:
        page = billing.ListTransactions(
            pb.ListTransactionsRequest(page_size=2, page_token=token), metadata=user.metadata
        )
        assert len(page.transactions) <= 2
        seen.extend(page.transactions)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert [t.balance_after for t in seen] == [1, 0, 1, 2, 3]
    assert [t.kind for t in seen] == [
        billing_pb2.TRANSACTION_KIND_SONG_REFUND,
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_WELCOME_GRANT,
    ]
    assert [t.song_id for t in seen[1:4]] == songs[::-1]
    assert len({t.id for t in seen}) == 5
    # Each entry extends the one before it.
    for newer, older in itertools.pairwise(seen):
        assert newer.balance_after == older.balance_after + newer.amount
    assert all(t.create_time.seconds > 0 for t in seen)


def test_default_page_size_is_twenty(billing, new_user, reserve) -> None:
    user = new_user()
    for _ in range(3):
        reserve(user)
    page = billing.ListTransactions(pb.ListTransactionsRequest(), metadata=user.metadata)
    assert len(page.transactions) == 4 and not page.next_page_token


@pytest.mark.parametrize(
    ("request_message", "field"),
    [
        (pb.ListTransactionsRequest(page_size=101), "page_size"),
        (pb.ListTransactionsRequest(page_size=-1), "page_size"),
        (pb.ListTransactionsRequest(page_token="not a token"), "page_token"),
        (pb.ListTransactionsRequest(page_token="x" * 513), "page_token"),
    ],
)
def test_bad_pages_are_refused(billing, new_user, request_message, field) -> None:
    user = new_user()
    with pytest.raises(grpc.RpcError) as refused:
        billing.ListTransactions(request_message, metadata=user.metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(refused.value)
    assert field in violations
    if field == "page_size":
        assert "between 1 and 100" in violations[field]


def test_a_page_token_from_another_account_is_refused(billing, new_user, reserve) -> None:
    alice, bob = new_user(), new_user()
    for _ in range(2):
        reserve(alice)
    token = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=1), metadata=alice.metadata
    ).next_page_token
    assert token
    with pytest.raises(grpc.RpcError) as refused:
        billing.ListTransactions(
            pb.ListTransactionsRequest(page_token=token), metadata=bob.metadata
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(refused.value)


def test_forged_tokens_are_refused(billing, new_user, reserve, stack: Stack) -> None:
    user = new_user()
    for _ in range(2):
        reserve(user)
    real = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=1), metadata=user.metadata
    ).next_page_token
    query = {"listing": "transactions", "account": user.id}
    key = stack.env["NEUTONE_PAGE_TOKEN_KEY"]
    for name, token in forged_tokens(key, query, real, shape=SerialPosition).items():
        with pytest.raises(grpc.RpcError) as refused:
            billing.ListTransactions(
                pb.ListTransactionsRequest(page_token=token), metadata=user.metadata
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        assert "page_token" in field_violations(refused.value), name
    # The largest id a token can hold is just a position: the newest entries follow.
    largest = PageTokens(key).encode(SerialPosition(id=2**63 - 1), query=query)
    page = billing.ListTransactions(
        pb.ListTransactionsRequest(page_token=largest), metadata=user.metadata
    )
    assert len(page.transactions) == 3
