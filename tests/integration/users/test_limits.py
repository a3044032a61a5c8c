"""Password guessing and sign-up limits, through a real usersvc: counted atomically
before the password is checked, per account and client, per client, and an
account-wide rate that spaces strangers out instead of locking the owner out."""

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from neutone.v1 import user_service_pb2 as pb
from runtime.launcher import stack_outbox
from tests.integration.helpers import (
    Metadata,
    StackKeys,
    confirmed_sign_up,
    error_reason,
    from_client,
)
from tests.integration.users.conftest import OwnUserService, StartUserService

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def usersvc(start_usersvc: StartUserService) -> OwnUserService:
    """A usersvc with the default limits."""
    return start_usersvc()


def client_address() -> str:
    """A client address no other test uses."""
    return f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"


def sign_up(users, tokens: StackKeys) -> str:
    email = f"owner-{uuid.uuid4().hex[:12]}@example.com"
    confirmed_sign_up(
        users,
        stack_outbox(tokens.directory),
        email=email,
        password=PASSWORD,
        display_name="Owner",
        metadata=from_client(tokens, client_address()),
    )
    return email


def sign_in(users, email: str, password: str, metadata: Metadata, timeout: float = 10):
    return users.SignIn(
        pb.SignInRequest(email=email, password=password), metadata=metadata, timeout=timeout
    )


def outcome(users, email: str, password: str, metadata: Metadata, timeout: float = 10) -> str:
    try:
        sign_in(users, email, password, metadata, timeout)
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def retry_delay_seconds(error: grpc.RpcError) -> int:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds
    raise AssertionError("no RetryInfo")


def test_thirty_parallel_guesses_check_only_the_allowed_five(usersvc, tokens) -> None:
    email = sign_up(usersvc.users, tokens)
    guesser = from_client(tokens, client_address())
    with ThreadPoolExecutor(30) as pool:
        calls = [
            pool.submit(sign_in, usersvc.users, email, f"guess {n}", guesser) for n in range(30)
        ]
        errors = [call.exception() for call in calls]
    codes = Counter(error.code().name for error in errors)
    assert codes == {"UNAUTHENTICATED": 5, "RESOURCE_EXHAUSTED": 25}
    limited = [error for error in errors if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert {error_reason(error) for error in limited} == {"SIGN_IN_RATE_LIMITED"}
    # 20 of the 30 passed the client's limit (20 per 15 min: one back every 45 s), and
    # 5 of those the account-and-client one (5 per 15 min: one back every 180 s).
    delays = Counter(
        "client" if 40 <= delay <= 45 else "account and client" if 175 <= delay <= 180 else delay
        for delay in map(retry_delay_seconds, limited)
    )
    assert delays == {"client": 10, "account and client": 15}


def test_a_strangers_guesses_do_not_lock_the_owner_out(usersvc, tokens) -> None:
    email = sign_up(usersvc.users, tokens)
    stranger = from_client(tokens, client_address())
    outcomes = [outcome(usersvc.users, email, f"guess {n}", stranger) for n in range(8)]
    assert outcomes == ["UNAUTHENTICATED"] * 5 + ["RESOURCE_EXHAUSTED"] * 3

    # The owner, on a device that never signed in before, gets in at once.
    started = time.perf_counter()
    reply = sign_in(usersvc.users, email, PASSWORD, from_client(tokens, client_address()))
    assert reply.session_token and time.perf_counter() - started < 1
    # The stranger's client stays refused, whatever password it tries.
    assert outcome(usersvc.users, email, PASSWORD, stranger) == "RESOURCE_EXHAUSTED"


def test_spraying_many_accounts_from_one_client_is_refused(usersvc, tokens) -> None:
    sprayer = from_client(tokens, client_address())
    outcomes = [
        outcome(usersvc.users, f"victim-{uuid.uuid4().hex[:8]}@example.com", "Winter2025!", sprayer)
        for _ in range(22)
    ]
    assert outcomes == ["UNAUTHENTICATED"] * 20 + ["RESOURCE_EXHAUSTED"] * 2


def test_successful_sign_ins_give_their_counts_back(usersvc, tokens) -> None:
    email = sign_up(usersvc.users, tokens)
    device = from_client(tokens, client_address())
    # A typo now and then never adds up to a refusal.
    for _ in range(10):
        assert outcome(usersvc.users, email, "typo", device) == "UNAUTHENTICATED"
        assert outcome(usersvc.users, email, PASSWORD, device) == "OK"


def test_the_account_wide_rate_spaces_out_a_many_client_attack(start_usersvc, tokens) -> None:
    # 4 failures per 8 s for the account from new clients: after 4, one every 2 s.
    usersvc = start_usersvc(sign_in_failures_per_account="4", sign_in_failure_window_seconds="8")
    email = sign_up(usersvc.users, tokens)
    owners_laptop = from_client(tokens, client_address())
    assert outcome(usersvc.users, email, PASSWORD, owners_laptop) == "OK"

    def guess(n: int) -> tuple[str, float]:
        started = time.perf_counter()
        # Each guess from a client of its own, with 5 s to get an answer.
        result = outcome(
            usersvc.users, email, f"guess {n}", from_client(tokens, client_address()), timeout=5
        )
        return result, time.perf_counter() - started

    with ThreadPoolExecutor(12) as pool:
        attack = [pool.submit(guess, n) for n in range(12)]
        time.sleep(0.5)
        # Meanwhile the owner's laptop, which signed in before, is not held up.
        started = time.perf_counter()
        assert outcome(usersvc.users, email, PASSWORD, owners_laptop) == "OK"
        owners_wait = time.perf_counter() - started
        results = [call.result() for call in attack]

    assert owners_wait < 1
    checked = sorted(seconds for code, seconds in results if code == "UNAUTHENTICATED")
    refused = [seconds for code, seconds in results if code == "RESOURCE_EXHAUSTED"]
    # Four at once, then turns 2 s apart while a turn fits in the 5 s deadline.
    assert len(checked) == 6 and len(refused) == 6
    assert checked[3] < 1.5
    assert 1.8 < checked[4] < 3 and 3.8 < checked[5] < 5
    # Refused at once, not after waiting: the turn was known not to fit.
    assert max(refused) < 1.5


def test_sign_ups_are_limited_per_client(usersvc, tokens) -> None:
    client = from_client(tokens, client_address())

    def sign_up_from(metadata: Metadata) -> None:
        usersvc.users.SignUp(
            pb.SignUpRequest(
                email=f"new-{uuid.uuid4().hex[:12]}@example.com",
                password=PASSWORD,
                display_name="New",
            ),
            metadata=metadata,
        )

    for _ in range(10):
        sign_up_from(client)
    with pytest.raises(grpc.RpcError) as limited:
        sign_up_from(client)
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(limited.value) == "SIGN_UP_RATE_LIMITED"
    assert 300 <= retry_delay_seconds(limited.value) <= 360
    # Another client is unaffected.
    sign_up_from(from_client(tokens, client_address()))
