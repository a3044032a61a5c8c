"""Who the client is: the gateway's word about the browser's address counts only
beside the gateway's service identity; anyone else is its own peer address."""

import hashlib
import hmac
import uuid
from datetime import timedelta

import grpc
import psycopg
import pytest

from neutone.v1 import user_service_pb2 as pb
from runtime.identity import Identity, IdentityIssuer, PrincipalKind
from runtime.interceptors import CLIENT_ADDRESS_HEADER, PROXY_AUTHORIZATION_HEADER
from runtime.keys import SigningKey
from runtime.launcher import stack_outbox
from tests.integration.helpers import StackKeys, confirmed_sign_up, from_client
from tests.integration.users.conftest import StartUserService
from usersvc.limits import known_client_key

PASSWORD = "correct horse battery"


def known_client_hashes(database_url: str, account_id: str) -> set[bytes]:
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT client_hash FROM users.known_clients WHERE account_id = %s", (account_id,)
        ).fetchall()
    return {bytes(row[0]) for row in rows}


def client_hash(tokens: StackKeys, account_id: str, client: str) -> bytes:
    """What usersvc stores for a known client (usersvc.limits)."""
    key = known_client_key(tokens.issuer("usersvc").signing_key)
    return hmac.new(key, f"{account_id}\n{client}".encode(), hashlib.sha256).digest()


@pytest.fixture(scope="module")
def usersvc(start_usersvc: StartUserService):
    return start_usersvc()


def test_a_direct_caller_forging_x_forwarded_for_is_counted_as_its_peer(
    start_usersvc: StartUserService,
) -> None:
    # Few failures per client, so that counting them shows who the client is.
    usersvc = start_usersvc(sign_in_failures_per_client="3")
    outcomes = []
    for n in range(5):
        try:
            usersvc.users.SignIn(
                pb.SignInRequest(email=f"nobody-{n}@example.com", password="Winter2025!"),
                # A new "client" on every call, if the header were believed.
                metadata=((CLIENT_ADDRESS_HEADER, f"198.51.100.{n}"),),
            )
        except grpc.RpcError as error:
            outcomes.append(error.code().name)
    assert outcomes == ["UNAUTHENTICATED"] * 3 + ["RESOURCE_EXHAUSTED"] * 2


def test_the_known_client_is_the_forwarded_address_only_when_the_gateway_vouches(
    usersvc, tokens: StackKeys
) -> None:
    email = f"known-{uuid.uuid4().hex[:12]}@example.com"
    account = confirmed_sign_up(
        usersvc.users,
        stack_outbox(tokens.directory),
        email=email,
        password=PASSWORD,
        display_name="Known",
    ).user.id
    request = pb.SignInRequest(email=email, password=PASSWORD)

    usersvc.users.SignIn(request, metadata=((CLIENT_ADDRESS_HEADER, "198.51.100.99"),))
    assert known_client_hashes(usersvc.database_url, account) == {
        client_hash(tokens, account, "127.0.0.1")
    }

    usersvc.users.SignIn(request, metadata=from_client(tokens, "203.0.113.5"))
    assert known_client_hashes(usersvc.database_url, account) == {
        client_hash(tokens, account, "127.0.0.1"),
        client_hash(tokens, account, "203.0.113.5"),
    }


@pytest.mark.parametrize(
    ("voucher", "code", "message"),
    [
        ("forged", grpc.StatusCode.UNAUTHENTICATED, PROXY_AUTHORIZATION_HEADER),
        ("not bearer", grpc.StatusCode.UNAUTHENTICATED, PROXY_AUTHORIZATION_HEADER),
        ("another service", grpc.StatusCode.PERMISSION_DENIED, "not a trusted proxy"),
        ("a user", grpc.StatusCode.PERMISSION_DENIED, "not a trusted proxy"),
    ],
)
def test_a_proxy_authorization_that_is_not_the_gateways_is_refused(
    usersvc, tokens, voucher: str, code: grpc.StatusCode, message: str
) -> None:
    """A bad credential is refused rather than ignored, as a bad `authorization` is:
    a misconfigured proxy shows at once instead of making everyone one client."""
    gateway = tokens.service_token("gateway")
    untrusted = IdentityIssuer(SigningKey.generate("gateway"), ttl=timedelta(minutes=5))
    user = tokens.issuer("usersvc").mint(
        Identity(kind=PrincipalKind.USER, subject=str(uuid.uuid4()), credential="session:x")
    )
    authorization = {
        "forged": f"Bearer {untrusted.mint(untrusted.service_identity()).token}",
        "not bearer": f"Basic {gateway}",
        "another service": f"Bearer {tokens.service_token('songsvc')}",
        "a user": f"Bearer {user.token}",
    }[voucher]
    with pytest.raises(grpc.RpcError) as refused:
        usersvc.users.SignIn(
            pb.SignInRequest(email="someone@example.com", password="password"),
            metadata=(
                (CLIENT_ADDRESS_HEADER, "198.51.100.1"),
                (PROXY_AUTHORIZATION_HEADER, authorization),
            ),
        )
    assert refused.value.code() == code
    assert message in refused.value.details()
