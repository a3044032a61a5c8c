"""The client of a call is its host, not host and port."""

import pytest

from runtime.interceptors import peer_host


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:203.0.113.9:51234", "203.0.113.9"),
        ("ipv6:[2001:db8::1]:443", "2001:db8::1"),
        ("ipv6:%5B::1%5D:50051", "::1"),
        ("unix:/run/neutone.sock", "unix:/run/neutone.sock"),
    ],
)
def test_one_host_is_one_client_whatever_its_port(peer: str, host: str) -> None:
    assert peer_host(peer) == host
