"""Calls between services are balanced per call over every replica a target names,
through the channel every service uses (runtime.clients.service_channel): in a
cluster the target is a headless Service's name, which resolves to every pod."""

import asyncio
from collections.abc import Callable, Iterator

import grpc
import pytest

from neutone.v1 import billing_service_pb2, billing_service_pb2_grpc
from runtime.clients import ServiceCredentials, service_channel
from runtime.launcher import Stack, free_address, free_port
from tests.integration.helpers import StackKeys, scrape

LIST_PRODUCTS = "/neutone.v1.BillingService/ListProducts"
CALLS = 40


def _handled(metrics_port: str) -> float:
    samples = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    return samples.get(
        f'neutone_grpc_server_handled_total{{code="OK",method="{LIST_PRODUCTS}"}}', 0
    )


@pytest.fixture(scope="module")
def billing_replicas(stack: Stack) -> Iterator[list[tuple[str, str]]]:
    """Two billingsvc processes on the same database: (address, metrics port) each."""
    replicas: list[tuple[Stack, str, str]] = []
    try:
        for _ in range(2):
            address, metrics_port = free_address(), str(free_port())
            replica = Stack(
                {
                    **stack.env,
                    "NEUTONE_BILLINGSVC_ADDRESS": address,
                    "NEUTONE_METRICS_PORT": metrics_port,
                    # Its local payment provider's pages, which each process serves.
                    "NEUTONE_LOCAL_CHECKOUT_ADDRESS": free_address(),
                }
            )
            replica.start("billingsvc")
            replicas.append((replica, address, metrics_port))
        yield [(address, metrics_port) for _, address, metrics_port in replicas]
    finally:
        for replica, _, _ in replicas:
            replica.stop_all()


def _served_by_each(
    replicas: list[tuple[str, str]], open_channel: Callable[[str], grpc.aio.Channel]
) -> list[float]:
    """Makes CALLS calls through one channel to every replica's address (what a
    headless Service's DNS name resolves to) and counts the calls each replica served."""
    before = [_handled(port) for _, port in replicas]
    target = "ipv4:" + ",".join(address for address, _ in replicas)

    async def call() -> None:
        async with open_channel(target) as channel:
            billing = billing_service_pb2_grpc.BillingServiceStub(channel)
            for _ in range(CALLS):
                await billing.ListProducts(billing_service_pb2.ListProductsRequest())

    asyncio.run(call())
    return [_handled(port) - start for (_, port), start in zip(replicas, before, strict=True)]


def test_one_service_channel_spreads_calls_over_every_replica(
    billing_replicas: list[tuple[str, str]], tokens: StackKeys
) -> None:
    credentials = ServiceCredentials(tokens.issuer())
    served = _served_by_each(
        billing_replicas, lambda target: service_channel(target, credentials=credentials)
    )
    # round_robin takes the ready replicas in turn, call by call (the first calls
    # may all go to the one that became ready first).
    assert sum(served) == CALLS
    assert min(served) >= CALLS / 2 - 4, served


def test_a_channel_without_the_policy_sticks_to_one_replica(
    billing_replicas: list[tuple[str, str]],
) -> None:
    """The failure the policy fixes: gRPC's default (pick_first) sends every call
    of a channel to one address, so replicas added later get nothing from it."""
    served = _served_by_each(billing_replicas, grpc.aio.insecure_channel)
    assert sorted(served) == [0, CALLS]
