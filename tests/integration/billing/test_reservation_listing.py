"""ListReservations: what reconciliation pages through (held credits older than
a grace period), oldest first, with page tokens bound to their filters."""

from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from tests.integration.helpers import Metadata, field_violations

RESERVED = billing_pb2.RESERVATION_STATE_RESERVED


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def list_all(billing, metadata: Metadata, **filters) -> tuple[list[billing_pb2.Reservation], int]:
    """Every page of a listing; the reservations and the number of pages."""
    found, token, pages = [], "", 0
    while True:
        page = billing.ListReservations(
            pb.ListReservationsRequest(page_token=token, **filters), metadata=metadata
        )
        found += page.reservations
        pages += 1
        token = page.next_page_token
        if not token:
            return found, pages


def backdate(database_url: str, songs: list[str], hours: int) -> None:
    """Makes reservations look older, one second apart in the order given."""
    with psycopg.connect(database_url) as db:
        for offset, song in enumerate(songs):
            db.execute(
                "UPDATE billing.reservations SET create_time = now() - %s WHERE song_id = %s",
                (timedelta(hours=hours) - timedelta(seconds=offset), song),
            )


def test_reconciliation_pages_through_old_held_credits(
    billing, new_user, reserve, service_metadata: Metadata, database_url: str
) -> None:
    user = new_user()
    songs = [reserve(user).reservation.song_id for _ in range(3)]
    # Far older than anything else the session made, oldest first.
    backdate(database_url, songs, hours=24 * 365)
    billing.CommitCredits(pb.CommitCreditsRequest(song_id=songs[1]), metadata=service_metadata)
    recent = reserve(new_user()).reservation.song_id

    grace = stamp(datetime.now(UTC) - timedelta(hours=1))
    held, pages = list_all(
        billing, service_metadata, state=RESERVED, create_time_before=grace, page_size=1
    )
    ids = [reservation.song_id for reservation in held]
    assert [song for song in ids if song in songs] == [songs[0], songs[2]]
    assert recent not in ids
    assert pages >= len(held)  # one reservation a page
    assert {reservation.state for reservation in held} == {RESERVED}
    times = [(r.create_time.ToDatetime(), r.song_id) for r in held]
    assert times == sorted(times)
    first = held[0]
    assert (first.user_id, first.credits) == (user.id, 1)
    assert first.create_time.ToDatetime(tzinfo=UTC) < datetime.now(UTC) - timedelta(days=364)

    everything, _ = list_all(billing, service_metadata, page_size=1000)
    ids = [reservation.song_id for reservation in everything]
    assert [song for song in ids if song in songs] == songs and recent in ids
    committed = next(r for r in everything if r.song_id == songs[1])
    assert committed.state == billing_pb2.RESERVATION_STATE_COMMITTED


def test_a_page_of_reservations_holds_at_most_page_size(
    billing, new_user, reserve, service_metadata: Metadata
) -> None:
    user = new_user()
    for _ in range(3):
        reserve(user)
    default = billing.ListReservations(pb.ListReservationsRequest(), metadata=service_metadata)
    assert 3 <= len(default.reservations) <= 100
    two = billing.ListReservations(
        pb.ListReservationsRequest(page_size=2), metadata=service_metadata
    )
    assert len(two.reservations) == 2 and two.next_page_token
    after = billing.ListReservations(
        pb.ListReservationsRequest(page_size=2, page_token=two.next_page_token),
        metadata=service_metadata,
    )
    assert {r.song_id for r in two.reservations}.isdisjoint(r.song_id for r in after.reservations)


def test_a_page_token_belongs_to_its_filters(
    billing, new_user, reserve, service_metadata: Metadata
) -> None:
    user = new_user()
    for _ in range(2):
        reserve(user)
    first = billing.ListReservations(
        pb.ListReservationsRequest(state=RESERVED, page_size=1), metadata=service_metadata
    )
    for other in (
        pb.ListReservationsRequest(page_token=first.next_page_token),
        pb.ListReservationsRequest(
            state=RESERVED,
            create_time_before=stamp(datetime.now(UTC)),
            page_token=first.next_page_token,
        ),
        pb.ListReservationsRequest(state=RESERVED, page_token=first.next_page_token + "x"),
        pb.ListReservationsRequest(state=RESERVED, page_token="eyJhZnRlciI6IHt9fQ"),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            billing.ListReservations(other, metadata=service_metadata)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(refused.value)) == {"page_token"}


@pytest.mark.parametrize(
    ("request_message", "violations"),
    [
        (pb.ListReservationsRequest(page_size=-1), {"page_size": "must be between 1 and 1000"}),
        (pb.ListReservationsRequest(page_size=1001), {"page_size": "must be between 1 and 1000"}),
        (
            pb.ListReservationsRequest(state=99),
            {
                "state": "must be one of RESERVATION_STATE_UNSPECIFIED, "
                "RESERVATION_STATE_RESERVED, RESERVATION_STATE_COMMITTED, "
                "RESERVATION_STATE_RELEASED"
            },
        ),
        (
            pb.ListReservationsRequest(create_time_before=Timestamp(seconds=10**12)),
            {"create_time_before": "must be between 0001-01-01 and 9999-12-31"},
        ),
        (
            pb.ListReservationsRequest(create_time_before=Timestamp(seconds=0, nanos=-1)),
            {"create_time_before": "must have nanos between 0 and 999999999"},
        ),
    ],
)
def test_list_reservations_input(
    billing, service_metadata: Metadata, request_message, violations
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        billing.ListReservations(request_message, metadata=service_metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(refused.value) == violations


def test_a_bound_keeps_its_sub_microsecond_meaning(
    billing, new_user, reserve, service_metadata: Metadata, database_url: str
) -> None:
    user = new_user()
    song = reserve(user).reservation.song_id
    with psycopg.connect(database_url) as db:
        created = db.execute(
            "UPDATE billing.reservations SET create_time = '2001-02-03T04:05:06.000007Z'"
            " WHERE song_id = %s RETURNING create_time",
            (song,),
        ).fetchone()[0]
    # 7 µs and 1 ns is after the reservation: it is listed; exactly 7 µs is not.
    after = Timestamp(seconds=int(created.timestamp()), nanos=7001)
    exact = Timestamp(seconds=int(created.timestamp()), nanos=7000)
    listed = billing.ListReservations(
        pb.ListReservationsRequest(create_time_before=after), metadata=service_metadata
    )
    assert song in {r.song_id for r in listed.reservations}
    listed = billing.ListReservations(
        pb.ListReservationsRequest(create_time_before=exact), metadata=service_metadata
    )
    assert song not in {r.song_id for r in listed.reservations}
