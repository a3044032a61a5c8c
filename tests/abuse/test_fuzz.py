"""Property-based fuzz of every RPC: random field values and raw bytes, sent
directly to each service's port (anonymous, as a user, as a service) and
through the gateway as a browser (signed out and signed in). Whatever arrives,
no call fails internally (INTERNAL, UNKNOWN, an HTTP 5xx), and a refused call
writes nothing.

On a platform of its own without the worker, Triton, or background deliveries,
so the only writes are the calls' own."""

import os
import time
from collections.abc import Iterator

import grpc
import httpx
import psycopg
import pytest
from google.protobuf.descriptor import MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutone.v1 import (
    access_pb2,
    billing_service_pb2,
    song_service_pb2,
    song_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from tests.abuse.messages import request_bytes
from tests.integration.gateway.grpcweb import BINARY, frame, parse
from tests.integration.helpers import (
    ONE_CLIENT_FOR_ALL_TESTS,
    StackKeys,
    bearer,
    confirmed_sign_up,
    mailed_token,
)
from tests.stacks import Product, private_product

CONTRACTS = (
    user_service_pb2.DESCRIPTOR,
    billing_service_pb2.DESCRIPTOR,
    song_service_pb2.DESCRIPTOR,
)
METHODS: list[MethodDescriptor] = [
    method
    for contract in CONTRACTS
    for service in contract.services_by_name.values()
    for method in service.methods
]
SERVICE_PORTS = {"UserService": "usersvc", "BillingService": "billingsvc", "SongService": "songsvc"}
INTERNAL_FAILURES = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)
# The same codes as numbers, as grpc-web carries them.
GRPC_WEB_INTERNAL_FAILURES = tuple(code.value[0] for code in INTERNAL_FAILURES)
PASSWORD = "correct horse battery"
# Tables that record refused calls on purpose (counting failed sign-ins is what
# makes the limit work); everything else must be untouched by a refusal.
RECORDS_REFUSALS = {"users.sign_in_failures", "users.rate_limits", "users.known_clients"}
# usersvc delivers its outbox at once, and polls it every 2 s.
OUTBOX_DRAINS_SECONDS = 10
EXAMPLES_PER_METHOD = int(os.environ.get("NEUTONE_FUZZ_EXAMPLES", "30"))
STREAM_MESSAGES_READ = 2


def path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


@pytest.fixture(scope="module")
def fuzz_platform() -> Iterator[Product]:
    quiet = {
        # No writes behind the calls' backs: deliveries and reconciliation wait.
        "NEUTONE_CREDIT_RELEASE_POLL_SECONDS": "3600",
        "NEUTONE_RECONCILE_INTERVAL_SECONDS": "3600",
        "NEUTONE_WELCOME_GRANT_CREDITS": "1000",
        # Every fuzzed call comes from this machine: let sign-ups through.
        **ONE_CLIENT_FOR_ALL_TESTS,
    }
    with private_product(
        "fuzz", services=("usersvc", "billingsvc", "songsvc", "gateway"), extra_env=quiet
    ) as product:
        yield product


@pytest.fixture(scope="module")
def channels(fuzz_platform: Product) -> Iterator[dict[str, grpc.Channel]]:
    opened = {
        name: grpc.insecure_channel(fuzz_platform.stack.address(port))
        for name, port in SERVICE_PORTS.items()
    }
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="module")
def person(channels: dict[str, grpc.Channel], fuzz_platform: Product) -> dict[str, object]:
    """A signed-up person with songs of their own, whose ids and tokens seed the fuzz."""
    users = user_service_pb2_grpc.UserServiceStub(channels["UserService"])
    reply = confirmed_sign_up(
        users,
        fuzz_platform.outbox,
        email="fuzz@example.com",
        password=PASSWORD,
        display_name="Fuzz",
    )
    session = users.AuthenticateSession(
        user_service_pb2.AuthenticateSessionRequest(session_token=reply.session_token),
        metadata=bearer(fuzz_platform.keys.service_token()),
    )
    metadata = bearer(session.identity_token)
    songs = song_service_pb2_grpc.SongServiceStub(channels["SongService"])
    song_ids = [
        songs.CreateSong(
            song_service_pb2.CreateSongRequest(description=f"fuzz seed {index}"), metadata=metadata
        ).song.id
        for index in range(2)
    ]
    page = songs.ListMySongs(song_service_pb2.ListMySongsRequest(page_size=1), metadata=metadata)
    return {
        "id": reply.user.id,
        "email": "fuzz@example.com",
        "session_token": reply.session_token,
        "metadata": metadata,
        "known": {
            "song_id": song_ids,
            "id": song_ids,
            "user_id": [reply.user.id],
            "page_token": [page.next_page_token],
            "session_token": [reply.session_token],
            "email": ["fuzz@example.com"],
            "category": ["pop", "rock"],
            "product_id": ["credits-10"],
        },
    }


def snapshot(database_url: str) -> dict[str, str]:
    """A digest of every row of every table (but those that record refusals), once
    usersvc's outbox is drained: an earlier call's mail, delivered in the
    background, must not count as written by this one."""
    with psycopg.connect(database_url, autocommit=True) as db:
        deadline = time.monotonic() + OUTBOX_DRAINS_SECONDS
        while db.execute("SELECT count(*) FROM users.outbox").fetchone()[0]:
            assert time.monotonic() < deadline, "usersvc's outbox does not drain"
            time.sleep(0.05)
        tables = [
            f"{schema}.{name}"
            for schema, name in db.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_schema IN ('users', 'billing', 'songs')"
                " AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
            )
            if f"{schema}.{name}" not in RECORDS_REFUSALS
        ]
        query = " UNION ALL ".join(
            f"SELECT '{table}', md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), ''))"
            f" FROM {table} t"
            for table in tables
        )
        return dict(db.execute(query).fetchall())


def identities(person: dict, keys: StackKeys) -> st.SearchStrategy[tuple]:
    service = bearer(keys.service_token())
    return st.sampled_from([(), person["metadata"], service])


@pytest.mark.parametrize("method", METHODS, ids=path)
def test_direct_calls_never_fail_internally_and_refusals_write_nothing(
    method: MethodDescriptor, fuzz_platform: Product, channels, person
) -> None:
    channel = channels[method.containing_service.name]
    if method.server_streaming:
        stub = channel.unary_stream(path(method))
    else:
        stub = channel.unary_unary(path(method))

    @settings(
        max_examples=EXAMPLES_PER_METHOD,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        payload=request_bytes(method.input_type, known=person["known"]),
        metadata=identities(person, fuzz_platform.keys),
    )
    def call(payload: bytes, metadata: tuple) -> None:
        before = snapshot(fuzz_platform.database_url)
        try:
            if method.server_streaming:
                replies = stub(payload, metadata=metadata, timeout=10)
                for index, _ in enumerate(replies):
                    if index + 1 >= STREAM_MESSAGES_READ:
                        replies.cancel()
                        break
            else:
                stub(payload, metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED:
                return
            assert error.code() not in INTERNAL_FAILURES, (path(method), error.details())
            assert snapshot(fuzz_platform.database_url) == before, (
                f"{path(method)} answered {error.code().name} but wrote: {error.details()}"
            )

    call()


BROWSER_METHODS = [
    method
    for method in METHODS
    if method.GetOptions().Extensions[access_pb2.access]
    in (access_pb2.ACCESS_PUBLIC, access_pb2.ACCESS_USER)
]
GRPC_WEB_HEADERS = {"content-type": BINARY, "x-grpc-web": "1"}


@pytest.fixture(scope="module")
def gateway(fuzz_platform: Product) -> Iterator[tuple[httpx.Client, str]]:
    """An HTTP client of the gateway, and the session cookie of a person signed up
    through it (not the fuzzed person, whose sign-ins the fuzz keeps failing)."""
    with httpx.Client(base_url=fuzz_platform.url, timeout=15) as http:
        email = "fuzz-browser@example.com"
        http.post(
            "/neutone.v1.UserService/SignUp",
            content=frame(
                user_service_pb2.SignUpRequest(
                    email=email, password=PASSWORD, display_name="Browser"
                ).SerializeToString()
            ),
            headers={**GRPC_WEB_HEADERS, "origin": fuzz_platform.url},
        )
        token = mailed_token(fuzz_platform.outbox, email, "confirm-sign-up")
        response = http.post(
            "/neutone.v1.UserService/ConfirmSignUp",
            content=frame(user_service_pb2.ConfirmSignUpRequest(token=token).SerializeToString()),
            headers={**GRPC_WEB_HEADERS, "origin": fuzz_platform.url},
        )
        http.cookies.clear()
        yield http, response.headers["set-cookie"].split(";", 1)[0]


@pytest.mark.parametrize("method", BROWSER_METHODS, ids=path)
def test_gateway_calls_never_fail_internally(
    method: MethodDescriptor, fuzz_platform: Product, gateway, person
) -> None:
    http, cookie = gateway
    bodies = st.one_of(
        request_bytes(method.input_type, known=person["known"]).map(frame),
        st.binary(max_size=3000),
    )

    @settings(
        max_examples=EXAMPLES_PER_METHOD,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies, signed_in=st.booleans())
    def call(body: bytes, signed_in: bool) -> None:
        headers = {**GRPC_WEB_HEADERS, "origin": fuzz_platform.url}
        if signed_in:
            headers["cookie"] = cookie
        if method.server_streaming:
            headers["grpc-timeout"] = "2S"
        response = http.post(path(method), content=body, headers=headers)
        http.cookies.clear()
        assert response.status_code < 500, (path(method), response.status_code)
        status = parse(response).status
        assert status not in GRPC_WEB_INTERNAL_FAILURES, (path(method), parse(response).message)

    call()
