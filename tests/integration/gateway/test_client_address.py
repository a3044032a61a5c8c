"""Through the real gateway, usersvc counts the browser's address (as uvicorn takes
it from a trusted proxy's X-Forwarded-For), vouched for by the gateway's identity."""

import hashlib
import hmac
import uuid

import httpx
import psycopg

from neutone.v1 import user_service_pb2
from tests.integration.gateway.conftest import Gateway, browser_sign_up
from tests.integration.gateway.grpcweb import call
from tests.integration.helpers import StackKeys
from usersvc.limits import known_client_key

SIGN_IN = "/neutone.v1.UserService/SignIn"
OK, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 0, 8, 16
PASSWORD = "correct horse battery"


def browser_at(address: str) -> dict[str, str]:
    # The test client is 127.0.0.1, the gateway's trusted proxy by default: as the
    # edge does, it says where the browser really is.
    return {"x-forwarded-for": address}


async def test_sign_ins_are_counted_per_browser_address(
    gateway: Gateway, http: httpx.AsyncClient, tokens: StackKeys
) -> None:
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    confirmed = await browser_sign_up(
        http, gateway, email=email, password=PASSWORD, headers=browser_at("203.0.113.20")
    )
    account = user_service_pb2.ConfirmSignUpResponse.FromString(confirmed.messages[0]).user.id

    async def sign_in(password: str, browser: str) -> int:
        reply = await call(
            http,
            SIGN_IN,
            user_service_pb2.SignInRequest(email=email, password=password),
            origin=gateway.origin,
            headers=browser_at(browser),
        )
        return reply.status

    guesses = [await sign_in(f"guess {n}", "198.51.100.30") for n in range(6)]
    assert guesses == [UNAUTHENTICATED] * 5 + [RESOURCE_EXHAUSTED]
    # Another browser is another client: it is not refused, and the owner gets in.
    assert await sign_in("guess", "198.51.100.31") == UNAUTHENTICATED
    assert await sign_in(PASSWORD, "203.0.113.20") == OK

    key = known_client_key(tokens.issuer("usersvc").signing_key)
    expected = hmac.new(key, f"{account}\n203.0.113.20".encode(), hashlib.sha256).digest()
    with psycopg.connect(gateway.database_url) as db:
        known = db.execute(
            "SELECT client_hash FROM users.known_clients WHERE account_id = %s", (account,)
        ).fetchall()
    assert [bytes(row[0]) for row in known] == [expected]
