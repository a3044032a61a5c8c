"""Credits are money: every way issue 11 found to get songs free, or to lose a
credit, tried again through the gateway as a browser would."""

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable

import httpx
from google.protobuf.message import Message

from neutone.v1 import billing_pb2, song_pb2
from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb
from tests.abuse.browser import Browser
from tests.integration.billing.webhooks import order_event, order_paid_event, signed
from tests.stacks import Product

FAILED_PRECONDITION = 9
RESOURCE_EXHAUSTED = 8
SHORT_SONG = song_pb2.GenerationParams(duration_seconds=10, inference_steps=2)


async def balance(browser: Browser) -> int:
    reply = await browser.ok(
        "BillingService.GetBalance", billing_pb.GetBalanceRequest(), billing_pb.GetBalanceResponse
    )
    return reply.balance


async def charges(browser: Browser) -> list[tuple[int, int]]:
    """(kind, amount) of every song charge and refund in the person's history."""
    reply = await browser.ok(
        "BillingService.ListTransactions",
        billing_pb.ListTransactionsRequest(page_size=100),
        billing_pb.ListTransactionsResponse,
    )
    song_kinds = (
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_SONG_REFUND,
    )
    return [(t.kind, t.amount) for t in reply.transactions if t.kind in song_kinds]


async def create(browser: Browser, **fields) -> tuple[int, Message | None, str]:
    request = song_pb.CreateSongRequest(**fields, params=SHORT_SONG)
    reply = await browser.call("SongService.CreateSong", request)
    song = song_pb.CreateSongResponse.FromString(reply.messages[0]).song if reply.messages else None
    return reply.status, song, reply.error_reason()


async def until_ready(browser: Browser, song_id: str) -> song_pb2.Song:
    deadline = time.monotonic() + 120
    while True:
        song = (
            await browser.ok(
                "SongService.GetSong",
                song_pb.GetSongRequest(song_id=song_id),
                song_pb.GetSongResponse,
            )
        ).song
        if song.status in (song_pb2.SONG_STATUS_READY, song_pb2.SONG_STATUS_FAILED):
            return song
        assert time.monotonic() < deadline, "the song never finished"
        await asyncio.sleep(0.3)


async def delete(browser: Browser, song_id: str) -> None:
    await browser.ok(
        "SongService.DeleteSong",
        song_pb.DeleteSongRequest(song_id=song_id),
        song_pb.DeleteSongResponse,
    )


async def test_a_reused_idempotency_key_never_makes_a_free_song(
    browser: Callable[..., Browser],
) -> None:
    person = await browser().sign_up()
    assert await balance(person) == 3

    status, song, _ = await create(person, description="bought once", idempotency_key="k1")
    assert status == 0
    assert (await until_ready(person, song.id)).status == song_pb2.SONG_STATUS_READY
    assert await balance(person) == 2
    await delete(person, song.id)

    # The deleted song's key, with the same or another request: never a new song.
    for description in ("bought once", "another description"):
        status, song, reason = await create(person, description=description, idempotency_key="k1")
        assert (status, reason) in (
            (FAILED_PRECONDITION, "IDEMPOTENCY_KEY_SONG_DELETED"),
            (FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED"),
        )
    # A key whose song was deleted while still queued is just as dead.
    status, queued, _ = await create(person, description="queued", idempotency_key="k2")
    await delete(person, queued.id)
    status, _, reason = await create(person, description="queued", idempotency_key="k2")
    assert (status, reason) == (FAILED_PRECONDITION, "IDEMPOTENCY_KEY_SONG_DELETED")

    assert await balance(person) == 2
    charge, refund = (
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_SONG_REFUND,
    )
    assert sorted(await charges(person)) == sorted([(charge, -1), (charge, -1), (refund, 1)])

    # At a balance of 0, no key buys anything either.
    for index in range(2):
        status, song, _ = await create(person, description=f"spend {index}")
        await until_ready(person, song.id)
    assert await balance(person) == 0
    status, _, reason = await create(person, description="bought once", idempotency_key="k1")
    assert status == FAILED_PRECONDITION
    status, _, reason = await create(person, description="a new key", idempotency_key="k3")
    assert (status, reason) == (FAILED_PRECONDITION, "INSUFFICIENT_CREDITS")


async def test_deleting_while_billing_is_paused_keeps_no_credit_and_takes_none(
    browser: Callable[..., Browser], platform: Product
) -> None:
    person = await browser().sign_up()
    _, song, _ = await create(person, description="deleted mid-generation")
    billing = platform.stack.processes["billingsvc"].pid
    os.kill(billing, signal.SIGSTOP)
    try:
        started = time.monotonic()
        await delete(person, song.id)
        assert time.monotonic() - started < 5, "DeleteSong waited for billing"
        await asyncio.sleep(2)  # the worker may reach its commit meanwhile
    finally:
        os.kill(billing, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while await balance(person) != 3:
        assert time.monotonic() < deadline, "the credit never came back"
        await asyncio.sleep(0.3)
    charge, refund = (
        billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
        billing_pb2.TRANSACTION_KIND_SONG_REFUND,
    )
    assert sorted(await charges(person)) == [(charge, -1), (refund, 1)]


async def test_songs_in_flight_are_capped_through_the_gateway(
    browser: Callable[..., Browser], platform: Product, http: httpx.AsyncClient
) -> None:
    person = await browser().sign_up()
    await buy(person, platform, http)
    outcomes = await asyncio.gather(
        *(create(person, description=f"burst {index}") for index in range(12))
    )
    accepted = [song for status, song, _ in outcomes if status == 0]
    refused = [reason for status, _, reason in outcomes if status == RESOURCE_EXHAUSTED]
    assert len(accepted) == 5
    assert refused == ["TOO_MANY_SONGS_IN_FLIGHT"] * 7
    assert await balance(person) == 13 - 5


async def test_a_refund_takes_the_credits_back_and_a_debt_buys_no_song(
    browser: Callable[..., Browser], platform: Product, http: httpx.AsyncClient
) -> None:
    person = await browser().sign_up()
    order_id = await buy(person, platform, http)
    assert await balance(person) == 13
    for index in range(4):
        status, _, _ = await create(person, description=f"spent {index}")
        assert status == 0
    assert await balance(person) == 9
    # The whole order refunded after its credits were spent: the balance is a debt.
    refund = order_event(
        "order.refunded",
        account_id=await account_id(person),
        order_id=order_id,
        refunded_amount=500,
    )
    for _ in range(2):  # a redelivered webhook takes nothing more
        await webhook(platform, http, refund)
    assert await balance(person) == -1
    status, _, reason = await create(person, description="in debt")
    assert (status, reason) == (FAILED_PRECONDITION, "INSUFFICIENT_CREDITS")


async def account_id(person: Browser) -> str:
    reply = await person.ok(
        "UserService.GetCurrentUser",
        user_pb.GetCurrentUserRequest(),
        user_pb.GetCurrentUserResponse,
    )
    return reply.user.id


async def webhook(platform: Product, http: httpx.AsyncClient, event: dict) -> None:
    request = signed(platform.stack.env["NEUTONE_PAYMENT_WEBHOOK_SECRET"], event)
    response = await http.post(
        "/webhooks/payments", content=request.payload, headers=dict(request.headers)
    )
    assert response.status_code == 200, response.text


async def buy(person: Browser, platform: Product, http: httpx.AsyncClient) -> str:
    """Ten credits through a signed `order.paid` webhook; the order's id."""
    order_id = str(uuid.uuid4())
    await webhook(
        platform, http, order_paid_event(account_id=await account_id(person), order_id=order_id)
    )
    return order_id
