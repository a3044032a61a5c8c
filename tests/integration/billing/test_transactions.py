"""ListTransactions: newest first, keyset pages, and their limits."""

import itertools

import grpc
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from runtime.pagination import encode_page_token
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


def test_a_token_with_a_bad_position_is_refused(billing, new_user) -> None:
    user = new_user()
    token = encode_page_token({"id": "1; drop"}, query={"account": user.id})
    with pytest.raises(grpc.RpcError) as refused:
        billing.ListTransactions(
            pb.ListTransactionsRequest(page_token=token), metadata=user.metadata
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(refused.value)
