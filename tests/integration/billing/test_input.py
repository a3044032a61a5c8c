"""Bad input: INVALID_ARGUMENT naming each field and its limit, and nothing written."""

import uuid

import grpc
import pytest

from neutone.v1 import billing_service_pb2 as pb
from tests.integration.helpers import Metadata, field_violations

SONG = str(uuid.uuid4())


def refused(call, request, metadata) -> dict[str, str]:
    with pytest.raises(grpc.RpcError) as error:
        call(request, metadata=metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return field_violations(error.value)


@pytest.mark.parametrize(
    ("request_message", "expected"),
    [
        (pb.CreateCheckoutSessionRequest(), {"product_id": "is required"}),
        (pb.CreateCheckoutSessionRequest(product_id="   "), {"product_id": "is required"}),
        (
            pb.CreateCheckoutSessionRequest(product_id="credits-11"),
            {"product_id": "must be one of credits-10, credits-25, credits-50"},
        ),
        (
            pb.CreateCheckoutSessionRequest(product_id="c" * 101),
            {"product_id": "must be at most 100 characters"},
        ),
        (
            pb.CreateCheckoutSessionRequest(product_id="credits-10", success_url="ftp://x/y"),
            {"success_url": "must be an absolute http:// or https:// URL"},
        ),
        (
            pb.CreateCheckoutSessionRequest(product_id="credits-10", success_url="/relative"),
            {"success_url": "must be an absolute http:// or https:// URL"},
        ),
        (
            pb.CreateCheckoutSessionRequest(
                product_id="credits-10", success_url="https://a.example/" + "x" * 2040
            ),
            {"success_url": "must be at most 2048 characters"},
        ),
        (
            pb.CreateCheckoutSessionRequest(product_id="nope", success_url="https://a.example/a b"),
            {
                "product_id": "must be one of credits-10, credits-25, credits-50",
                "success_url": "must not contain spaces or control characters",
            },
        ),
    ],
)
def test_checkout_input(billing, new_user, table_rows, request_message, expected) -> None:
    user = new_user()
    assert refused(billing.CreateCheckoutSession, request_message, user.metadata) == expected
    # Refused before the account was even opened.
    assert table_rows("accounts", "account_id", user.id) == 0


@pytest.mark.parametrize(
    "return_url", ["javascript:alert(1)", "https://", "https://a.example/" + "x" * 2040]
)
def test_portal_input(billing, new_user, table_rows, return_url) -> None:
    user = new_user()
    violations = refused(
        billing.CreatePortalSession,
        pb.CreatePortalSessionRequest(return_url=return_url),
        user.metadata,
    )
    assert set(violations) == {"return_url"}
    assert table_rows("accounts", "account_id", user.id) == 0


@pytest.mark.parametrize(
    ("method", "request_message", "fields"),
    [
        ("ReserveCredits", pb.ReserveCreditsRequest(), {"user_id", "song_id"}),
        (
            "ReserveCredits",
            pb.ReserveCreditsRequest(user_id="42", song_id=SONG + "0"),
            {"user_id", "song_id"},
        ),
        (
            "ReserveCredits",
            pb.ReserveCreditsRequest(user_id=str(uuid.uuid4()), song_id="x" * 10_000),
            {"song_id"},
        ),
        ("CommitCredits", pb.CommitCreditsRequest(), {"song_id"}),
        ("CommitCredits", pb.CommitCreditsRequest(song_id="not-a-song"), {"song_id"}),
        ("ReleaseCredits", pb.ReleaseCreditsRequest(song_id="\x00"), {"song_id"}),
        (
            "ReleaseCredits",
            pb.ReleaseCreditsRequest(song_id=SONG, reason="r" * 501),
            {"reason"},
        ),
        (
            "ReleaseCredits",
            pb.ReleaseCreditsRequest(song_id=SONG, reason="bad\x00reason"),
            {"reason"},
        ),
    ],
)
def test_internal_input(
    billing, service_metadata: Metadata, method, request_message, fields
) -> None:
    violations = refused(getattr(billing, method), request_message, service_metadata)
    assert set(violations) == fields
    if "reason" in fields and len(request_message.reason) > 500:
        assert violations["reason"] == "must be at most 500 characters"
    if "user_id" in fields:
        assert violations["user_id"] == "must be a UUID"


def test_bad_reservation_input_writes_nothing(
    billing, new_user, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    refused(
        billing.ReserveCredits,
        pb.ReserveCreditsRequest(user_id=user.id, song_id="song-1"),
        service_metadata,
    )
    assert table_rows("accounts", "account_id", user.id) == 0
    assert table_rows("entries", "account_id", user.id) == 0
    assert table_rows("reservations", "account_id", user.id) == 0


def test_malformed_request_bytes_are_invalid(billing_channel, service_metadata) -> None:
    raw = billing_channel.unary_unary(
        "/neutone.v1.BillingService/ReserveCredits",
        request_serializer=lambda payload: payload,
        response_deserializer=lambda payload: payload,
    )
    with pytest.raises(grpc.RpcError) as error:
        raw(b"\xff\xff\xff", metadata=service_metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
