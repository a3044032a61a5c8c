"""Password guessing, as issue 11 tried it: parallel guesses through the gateway,
a stranger trying to lock the owner out, and a direct caller of usersvc posing as
a new client on every call."""

import asyncio
from collections.abc import Callable

import grpc

from neutone.v1 import user_service_pb2 as pb
from neutone.v1 import user_service_pb2_grpc
from tests.abuse.browser import Browser

UNAUTHENTICATED = 16
RESOURCE_EXHAUSTED = 8
GUESSES_PER_ACCOUNT_AND_CLIENT = 5  # usersvc's default


async def sign_in(browser: Browser, email: str, password: str) -> tuple[int, str | None]:
    reply = await browser.call(
        "UserService.SignIn", pb.SignInRequest(email=email, password=password)
    )
    return reply.status, reply.error_reason()


async def test_thirty_parallel_guesses_check_at_most_the_limit(
    browser: Callable[..., Browser],
) -> None:
    owner = await browser().sign_up()
    stranger = browser()
    outcomes = await asyncio.gather(
        *(sign_in(stranger, owner.email, f"guess {index}") for index in range(30))
    )
    checked = [outcome for outcome in outcomes if outcome[0] == UNAUTHENTICATED]
    refused = [outcome for outcome in outcomes if outcome[0] == RESOURCE_EXHAUSTED]
    assert len(checked) <= GUESSES_PER_ACCOUNT_AND_CLIENT
    assert len(checked) + len(refused) == 30
    assert {reason for _, reason in refused} == {"SIGN_IN_RATE_LIMITED"}


async def test_a_stranger_cannot_lock_the_owner_out(browser: Callable[..., Browser]) -> None:
    owner = await browser().sign_up()
    stranger = browser()
    for index in range(3 * GUESSES_PER_ACCOUNT_AND_CLIENT):
        await sign_in(stranger, owner.email, f"guess {index}")
    # The stranger's client is held back, even with the right password...
    assert (await sign_in(stranger, owner.email, owner.password))[0] == RESOURCE_EXHAUSTED
    # ...while the owner, from a client of their own, signs in at once.
    assert (await sign_in(browser(), owner.email, owner.password))[0] == 0


async def test_a_direct_caller_cannot_be_a_new_client_on_every_call(
    browser: Callable[..., Browser], channels: dict[str, grpc.Channel]
) -> None:
    owner = await browser().sign_up()
    users = user_service_pb2_grpc.UserServiceStub(channels["usersvc"])
    codes = []
    for index in range(3 * GUESSES_PER_ACCOUNT_AND_CLIENT):
        try:
            users.SignIn(
                pb.SignInRequest(email=owner.email, password=f"guess {index}"),
                # Claims to be someone new each time; only the gateway's word counts.
                metadata=(("x-forwarded-for", f"198.51.100.{index + 1}"),),
            )
        except grpc.RpcError as error:
            codes.append(error.code())
    assert codes.count(grpc.StatusCode.UNAUTHENTICATED) <= GUESSES_PER_ACCOUNT_AND_CLIENT
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes
