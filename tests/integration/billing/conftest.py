"""Billing fixtures: the real billingsvc process (with the local payment provider
and its checkout pages), a stub, and direct looks at the `billing` tables to
prove what was or was not written."""

import uuid
from collections.abc import Callable

import grpc
import psycopg
import pytest

from neutone.v1 import billing_service_pb2 as pb
from neutone.v1 import billing_service_pb2_grpc
from runtime.launcher import Stack
from tests.integration.helpers import Metadata, SignedUpUser


@pytest.fixture
def billing(billing_channel: grpc.Channel) -> billing_service_pb2_grpc.BillingServiceStub:
    return billing_service_pb2_grpc.BillingServiceStub(billing_channel)


@pytest.fixture(scope="session")
def webhook_secret(stack: Stack) -> str:
    return stack.env["NEUTONE_PAYMENT_WEBHOOK_SECRET"]


@pytest.fixture
def table_rows(database_url: str) -> Callable[[str, str, object], int]:
    """Counts rows of a billing table where `column` equals `value`."""

    def count(table: str, column: str, value: object) -> int:
        with psycopg.connect(database_url) as db:
            row = db.execute(
                f"SELECT count(*) FROM billing.{table} WHERE {column}::text = %s", (str(value),)
            ).fetchone()
        return row[0] if row else 0

    return count


@pytest.fixture
def balance_of(billing) -> Callable[[SignedUpUser], int]:
    def read(user: SignedUpUser) -> int:
        return billing.GetBalance(pb.GetBalanceRequest(), metadata=user.metadata).balance

    return read


@pytest.fixture
def reserve(billing, service_metadata: Metadata) -> Callable[..., pb.ReserveCreditsResponse]:
    """Reserves a song's credit as songsvc does; a fresh song id unless given."""

    def call(user: SignedUpUser, song_id: str | None = None) -> pb.ReserveCreditsResponse:
        return billing.ReserveCredits(
            pb.ReserveCreditsRequest(user_id=user.id, song_id=song_id or str(uuid.uuid4())),
            metadata=service_metadata,
        )

    return call
