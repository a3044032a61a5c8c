"""Password hashes run a bounded number at once, whatever the node's CPU count: the
bound, not the load, decides usersvc's memory, and calls beyond it queue within
their deadline."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from neutone.v1 import user_service_pb2 as pb
from runtime.launcher import stack_outbox
from tests.integration.helpers import confirmed_sign_up, error_reason, from_client
from tests.integration.users.conftest import StartUserService

MIB = 1024 * 1024
HASH_MIB = 64


def peak_memory_bytes(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def sign_up(users, tokens, *, timeout: float = 30, email: str | None = None) -> str:
    try:
        users.SignUp(
            pb.SignUpRequest(
                email=email or f"hash-{uuid.uuid4().hex[:12]}@example.com",
                password="correct horse battery",
                display_name="Hash",
            ),
            metadata=from_client(tokens, f"198.51.100.{uuid.uuid4().int % 250}"),
            timeout=timeout,
        )
    except grpc.RpcError as error:
        return f"{error.code().name} {error_reason(error)}"
    return "OK"


def sign_in(users, email: str, password: str, metadata, *, timeout: float = 30) -> str:
    try:
        users.SignIn(
            pb.SignInRequest(email=email, password=password), metadata=metadata, timeout=timeout
        )
    except grpc.RpcError as error:
        return f"{error.code().name} {error_reason(error)}"
    return "OK"


def deadline_fitting(calls: int, one_call) -> float:
    """A deadline in which about `calls` calls, one hash at a time, can finish here:
    from the fastest of three calls measured now, so a burst overflows it on a fast
    machine as on a slow one. Never under 0.5 s, a gRPC call's own noise."""
    fastest = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        one_call()
        fastest = min(fastest, time.perf_counter() - started)
    return max(0.5, calls * fastest)


def test_twelve_parallel_sign_ups_hash_two_at_a_time(
    start_usersvc: StartUserService, tokens
) -> None:
    usersvc = start_usersvc(
        password_hashes_at_once="2",
        password_memory_kib=str(HASH_MIB * 1024),
        sign_ups_per_client="1000",
    )
    # The decoy hash made at start-up has already touched one hash's memory.
    before = peak_memory_bytes(usersvc.pid)
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda _: sign_up(usersvc.users, tokens), range(12)))
    assert outcomes == ["OK"] * 12
    grown_mib = (peak_memory_bytes(usersvc.pid) - before) / MIB
    # Two hashes at once add at most one more hash's memory to the start-up peak;
    # the default thread pool (at least 5 threads) would add four or more.
    assert grown_mib < 2 * HASH_MIB, f"peak grew {grown_mib:.0f} MiB"


def test_sign_ups_whose_turn_comes_too_late_are_refused_in_time(
    start_usersvc: StartUserService, tokens
) -> None:
    # One hash at a time and a deadline that fits six: most of 30 cannot fit.
    usersvc = start_usersvc(
        password_hashes_at_once="1",
        password_time_cost="3",
        password_memory_kib=str(HASH_MIB * 1024),
        sign_ups_per_client="1000",
    )
    timeout = deadline_fitting(6, lambda: sign_up(usersvc.users, tokens))
    with ThreadPoolExecutor(30) as pool:
        outcomes = list(
            pool.map(lambda _: sign_up(usersvc.users, tokens, timeout=timeout), range(30))
        )
    assert "OK" in outcomes
    assert "RESOURCE_EXHAUSTED PASSWORD_CHECKS_BUSY" in outcomes
    assert set(outcomes) <= {"OK", "RESOURCE_EXHAUSTED PASSWORD_CHECKS_BUSY"}, outcomes


def test_guesses_refused_for_busy_hashing_do_not_count(
    start_usersvc: StartUserService, tokens
) -> None:
    usersvc = start_usersvc(
        password_hashes_at_once="1",
        password_time_cost="3",
        password_memory_kib=str(HASH_MIB * 1024),
        sign_in_failures_per_account_and_client="30",
        sign_in_failures_per_client="100",
        sign_in_failures_per_account="100",
    )
    email = f"busy-{uuid.uuid4().hex[:12]}@example.com"
    confirmed_sign_up(usersvc.users, stack_outbox(tokens.directory), email=email)
    guesser = from_client(tokens, "203.0.113.77")
    # Measured with unknown emails from another client: they check a decoy hash,
    # and count against neither this account nor the guesser.
    timeout = deadline_fitting(
        6,
        lambda: sign_in(
            usersvc.users, "nobody@example.com", "x", from_client(tokens, "203.0.113.78")
        ),
    )
    with ThreadPoolExecutor(24) as pool:
        burst = list(
            pool.map(
                lambda n: sign_in(usersvc.users, email, f"guess {n}", guesser, timeout=timeout),
                range(24),
            )
        )
    assert "RESOURCE_EXHAUSTED PASSWORD_CHECKS_BUSY" in burst
    checked = burst.count("UNAUTHENTICATED BAD_CREDENTIALS")
    # A guess whose caller's deadline passed first (a busy machine) still counts, as
    # usersvc works today: its caller learnt nothing, but a cancelled call must not make
    # hashing free. Only refusals are sure not to count.
    timed_out = sum(outcome.startswith("DEADLINE_EXCEEDED") for outcome in burst)
    # The client's 30 guesses on the account are all still there to be checked,
    # less the ones that were: none went to the refusals.
    while (outcome := sign_in(usersvc.users, email, "another guess", guesser)) != (
        "RESOURCE_EXHAUSTED SIGN_IN_RATE_LIMITED"
    ):
        assert outcome == "UNAUTHENTICATED BAD_CREDENTIALS"
        checked += 1
    assert 30 - timed_out <= checked <= 30, burst
