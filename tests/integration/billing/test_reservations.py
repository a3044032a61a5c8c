"""Song reservations: charged at most once, never below zero, committed or
released exactly once."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from tests.integration.helpers import Metadata, error_reason


def drain_to(reserve, balance_of, user, balance: int) -> None:
    while balance_of(user) > balance:
        reserve(user)


def test_fifty_concurrent_reservations_on_one_credit_charge_once(
    billing, new_user, reserve, balance_of, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    drain_to(reserve, balance_of, user, 1)
    songs = [str(uuid.uuid4()) for _ in range(50)]
    calls = [
        billing.ReserveCredits.future(
            pb.ReserveCreditsRequest(user_id=user.id, song_id=song), metadata=service_metadata
        )
        for song in songs
    ]
    succeeded, refused = [], []
    for song, call in zip(songs, calls, strict=True):
        try:
            call.result()
            succeeded.append(song)
        except grpc.RpcError as error:
            refused.append(error)
    assert len(succeeded) == 1
    assert len(refused) == 49
    assert {error.code() for error in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert {error_reason(error) for error in refused} == {"INSUFFICIENT_CREDITS"}
    assert balance_of(user) == 0
    # Only the winner left a reservation or a charge behind.
    for song in songs:
        expected = 1 if song in succeeded else 0
        assert table_rows("reservations", "song_id", song) == expected
        assert table_rows("entries", "song_id", song) == expected
    transactions = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=100), metadata=user.metadata
    ).transactions
    assert all(t.balance_after >= 0 for t in transactions)


def test_the_same_song_reserved_concurrently_is_charged_once(
    billing, new_user, balance_of, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    song = str(uuid.uuid4())
    request = pb.ReserveCreditsRequest(user_id=user.id, song_id=song)
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(
            pool.map(
                lambda _: billing.ReserveCredits(request, metadata=service_metadata), range(10)
            )
        )
    assert {r.reservation.state for r in replies} == {billing_pb2.RESERVATION_STATE_RESERVED}
    assert {r.reservation.song_id for r in replies} == {song}
    assert {r.balance for r in replies} == {2}
    assert balance_of(user) == 2
    assert table_rows("entries", "idempotency_key", f"charge:{song}") == 1


def test_insufficient_credits_writes_nothing(
    billing, new_user, reserve, balance_of, table_rows
) -> None:
    user = new_user()
    drain_to(reserve, balance_of, user, 0)
    song = str(uuid.uuid4())
    with pytest.raises(grpc.RpcError) as short:
        reserve(user, song)
    assert short.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(short.value) == "INSUFFICIENT_CREDITS"
    assert table_rows("reservations", "song_id", song) == 0
    assert table_rows("entries", "song_id", song) == 0


def test_commit_is_idempotent_and_refused_after_release(
    billing, new_user, reserve, balance_of, service_metadata: Metadata
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    for _ in range(2):
        committed = billing.CommitCredits(
            pb.CommitCreditsRequest(song_id=song), metadata=service_metadata
        )
        assert committed.reservation.state == billing_pb2.RESERVATION_STATE_COMMITTED
    assert balance_of(user) == 2

    with pytest.raises(grpc.RpcError) as refused:
        billing.ReleaseCredits(
            pb.ReleaseCreditsRequest(song_id=song, reason="too late"), metadata=service_metadata
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "RESERVATION_COMMITTED"
    assert balance_of(user) == 2


def test_release_refunds_exactly_once_and_refuses_a_later_commit(
    billing, new_user, reserve, balance_of, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    assert balance_of(user) == 2
    request = pb.ReleaseCreditsRequest(song_id=song, reason="the model failed")
    with ThreadPoolExecutor(max_workers=5) as pool:
        replies = list(
            pool.map(lambda _: billing.ReleaseCredits(request, metadata=service_metadata), range(5))
        )
    assert {r.reservation.state for r in replies} == {billing_pb2.RESERVATION_STATE_RELEASED}
    assert balance_of(user) == 3
    assert table_rows("entries", "idempotency_key", f"refund:{song}") == 1
    refund = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=1), metadata=user.metadata
    ).transactions[0]
    assert refund.kind == billing_pb2.TRANSACTION_KIND_SONG_REFUND
    assert (refund.amount, refund.balance_after, refund.song_id) == (1, 3, song)
    assert "the model failed" in refund.description

    with pytest.raises(grpc.RpcError) as refused:
        billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "RESERVATION_RELEASED"


def test_commit_and_release_of_an_unknown_song_are_not_found(
    billing, service_metadata: Metadata
) -> None:
    song = str(uuid.uuid4())
    for call, request in (
        (billing.CommitCredits, pb.CommitCreditsRequest(song_id=song)),
        (billing.ReleaseCredits, pb.ReleaseCreditsRequest(song_id=song)),
    ):
        with pytest.raises(grpc.RpcError) as missing:
            call(request, metadata=service_metadata)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_song_reserved_by_one_account_cannot_be_reserved_by_another(
    new_user, reserve, balance_of
) -> None:
    owner, other = new_user(), new_user()
    song = reserve(owner).reservation.song_id
    with pytest.raises(grpc.RpcError) as taken:
        reserve(other, song)
    assert taken.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(taken.value) == "SONG_ALREADY_RESERVED"
    assert balance_of(other) == 3


def settle(billing, service_metadata: Metadata, song: str, outcome: str) -> None:
    if outcome == "committed":
        billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    else:
        billing.ReleaseCredits(pb.ReleaseCreditsRequest(song_id=song), metadata=service_metadata)


@pytest.mark.parametrize(
    ("outcome", "said"), [("committed", "already spent"), ("released", "already given back")]
)
def test_a_settled_reservation_never_backs_a_new_song(
    billing, new_user, reserve, balance_of, service_metadata: Metadata, table_rows, outcome, said
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    # Retrying while the credit is held stays idempotent: same reservation, no new charge.
    held = reserve(user, song)
    assert (held.reservation.state, held.balance) == (billing_pb2.RESERVATION_STATE_RESERVED, 2)
    settle(billing, service_metadata, song, outcome)
    balance = balance_of(user)

    # The song id was re-created (deleted, then CreateSong again with its key):
    # reserving for it again must not make a song for free, however often tried.
    for _ in range(3):
        with pytest.raises(grpc.RpcError) as refused:
            reserve(user, song)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(refused.value) == "RESERVATION_SETTLED"
        assert said in refused.value.details()
        assert "cannot be charged again" in refused.value.details()
    assert balance_of(user) == balance
    assert table_rows("entries", "song_id", song) == (1 if outcome == "committed" else 2)
    assert table_rows("reservations", "song_id", song) == 1
    # Another account still hears that the song is someone else's.
    with pytest.raises(grpc.RpcError) as taken:
        reserve(new_user(), song)
    assert error_reason(taken.value) == "SONG_ALREADY_RESERVED"


def release_deleted(billing, service_metadata: Metadata, song: str) -> pb.ReleaseCreditsResponse:
    """The release songsvc delivers for a song deleted before it was READY."""
    return billing.ReleaseCredits(
        pb.ReleaseCreditsRequest(
            song_id=song, reason="deleted before it was ready", song_abandoned=True
        ),
        metadata=service_metadata,
    )


def test_a_song_deleted_after_its_commit_landed_is_refunded_once(
    billing, new_user, reserve, balance_of, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    # The worker's commit raced the deletion and landed first.
    billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    assert balance_of(user) == 2

    for _ in range(3):  # songsvc redelivers until it hears OK
        released = release_deleted(billing, service_metadata, song)
        assert released.reservation.state == billing_pb2.RESERVATION_STATE_RELEASED
    assert balance_of(user) == 3
    assert table_rows("entries", "idempotency_key", f"refund:{song}") == 1
    refund = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=1), metadata=user.metadata
    ).transactions[0]
    assert refund.kind == billing_pb2.TRANSACTION_KIND_SONG_REFUND
    assert (refund.amount, refund.balance_after, refund.song_id) == (1, 3, song)
    assert "deleted before it was ready" in refund.description

    # It can never be committed again, nor back a new song.
    with pytest.raises(grpc.RpcError) as refused:
        billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    assert error_reason(refused.value) == "RESERVATION_RELEASED"
    with pytest.raises(grpc.RpcError) as settled:
        reserve(user, song)
    assert error_reason(settled.value) == "RESERVATION_SETTLED"
    assert balance_of(user) == 3


def test_a_song_deleted_while_held_is_released_and_never_committed(
    billing, new_user, reserve, balance_of, service_metadata: Metadata
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    release_deleted(billing, service_metadata, song)
    with pytest.raises(grpc.RpcError) as refused:
        billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    assert error_reason(refused.value) == "RESERVATION_RELEASED"
    assert balance_of(user) == 3


def test_commit_and_deleted_release_racing_always_end_refunded(
    billing, new_user, reserve, balance_of, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    songs = [reserve(user).reservation.song_id for _ in range(3)]
    assert balance_of(user) == 0

    def commit(song: str) -> None:
        try:
            billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
        except grpc.RpcError as error:
            assert error_reason(error) == "RESERVATION_RELEASED"

    with ThreadPoolExecutor(max_workers=12) as pool:
        calls = [pool.submit(commit, song) for song in songs for _ in range(2)]
        calls += [
            pool.submit(release_deleted, billing, service_metadata, song)
            for song in songs
            for _ in range(2)
        ]
        for call in calls:
            call.result()
    assert balance_of(user) == 3
    for song in songs:
        assert table_rows("entries", "idempotency_key", f"refund:{song}") == 1


def test_a_release_without_song_abandoned_still_refuses_a_committed_credit(
    billing, new_user, reserve, balance_of, service_metadata: Metadata
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    billing.CommitCredits(pb.CommitCreditsRequest(song_id=song), metadata=service_metadata)
    with pytest.raises(grpc.RpcError) as refused:
        billing.ReleaseCredits(
            pb.ReleaseCreditsRequest(song_id=song, song_abandoned=False), metadata=service_metadata
        )
    assert error_reason(refused.value) == "RESERVATION_COMMITTED"
    assert balance_of(user) == 2


def test_a_deleted_song_without_a_reservation_is_not_found(
    billing, service_metadata: Metadata
) -> None:
    with pytest.raises(grpc.RpcError) as missing:
        release_deleted(billing, service_metadata, str(uuid.uuid4()))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(missing.value) == "NO_RESERVATION"
