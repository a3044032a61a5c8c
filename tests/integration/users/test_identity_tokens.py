"""An internal client with only its own credentials: a session or an API key,
exchanged for identity tokens through the public CreateIdentityToken, then the
services called directly; and revocation, which ends those tokens within seconds."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import jwt
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from neutone.v1 import (
    billing_service_pb2,
    billing_service_pb2_grpc,
    song_service_pb2,
    song_service_pb2_grpc,
    user_service_pb2_grpc,
)
from neutone.v1 import user_service_pb2 as pb
from runtime.launcher import StackKeys, stack_outbox
from tests.integration.helpers import bearer, confirmed_sign_up, error_reason, field_violations

PASSWORD = "correct horse battery"
# Services poll revocations each second (NEUTONE_REVOCATION_POLL_SECONDS).
REVOCATION_BOUND_SECONDS = 5


@pytest.fixture
def clients(
    users_channel: grpc.Channel, billing_channel: grpc.Channel, songs_channel: grpc.Channel
):
    # songs_channel: songsvc as every suite shares it (started bare here, it would
    # leave the songs suite a process without its object store).
    return (
        user_service_pb2_grpc.UserServiceStub(users_channel),
        billing_service_pb2_grpc.BillingServiceStub(billing_channel),
        song_service_pb2_grpc.SongServiceStub(songs_channel),
    )


@pytest.fixture
def outbox(keys_dir: Path) -> Path:
    return stack_outbox(keys_dir)


def signed_up(users, outbox: Path) -> tuple[str, str]:
    email = f"client-{uuid.uuid4().hex[:12]}@example.com"
    reply = confirmed_sign_up(users, outbox, email=email, password=PASSWORD, display_name="Client")
    return email, reply.session_token


def exchange(users, **credential: str) -> tuple[tuple[str, str], ...]:
    reply = users.CreateIdentityToken(pb.CreateIdentityTokenRequest(**credential))
    assert reply.expire_time.ToDatetime(UTC) > datetime.now(UTC)
    return bearer(reply.identity_token)


def refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def seconds_until_refused(call: Callable[[], object]) -> float:
    """How long after now `call` keeps working, at most the bound."""
    started = time.monotonic()
    while time.monotonic() - started < REVOCATION_BOUND_SECONDS:
        try:
            call()
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"still accepted after {REVOCATION_BOUND_SECONDS} s")


def test_a_session_token_buys_identity_tokens_for_every_user_rpc(outbox, clients) -> None:
    users, billing, songs = clients
    _, session = signed_up(users, outbox)
    me = exchange(users, session_token=session)
    assert billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=me).balance == 3
    songs.ListMySongs(song_service_pb2.ListMySongsRequest(), metadata=me)
    users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=me)
    # ...and none of the internal ones.
    error = refused(
        lambda: billing.ReserveCredits(
            billing_service_pb2.ReserveCreditsRequest(
                user_id=str(uuid.uuid4()), song_id=str(uuid.uuid4())
            ),
            metadata=me,
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = refused(
        lambda: users.AuthenticateSession(
            pb.AuthenticateSessionRequest(session_token=session), metadata=me
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_credentials_and_bad_requests_are_refused(clients) -> None:
    users, _, _ = clients
    for credential in ({"session_token": "no-such-session"}, {"api_key": "ntk_no-such-key"}):
        error = refused(lambda c=credential: exchange(users, **c))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    error = refused(lambda: users.CreateIdentityToken(pb.CreateIdentityTokenRequest()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "credential" in field_violations(error)
    error = refused(lambda: exchange(users, api_key="x" * 129))
    assert field_violations(error) == {"api_key": "must be at most 128 characters"}


def test_an_api_key_is_shown_once_used_and_revoked_at_once(outbox, clients) -> None:
    users, billing, _ = clients
    _, session = signed_up(users, outbox)
    me = exchange(users, session_token=session)
    created = users.CreateApiKey(pb.CreateApiKeyRequest(display_name="nightly job"), metadata=me)
    assert created.secret.startswith("ntk_") and len(created.secret) == 47
    assert created.api_key.secret_prefix == created.secret[:10]
    listed = users.ListApiKeys(pb.ListApiKeysRequest(), metadata=me).api_keys
    assert [key.id for key in listed] == [created.api_key.id]
    assert created.secret not in str(listed)

    by_key = exchange(users, api_key=created.secret)
    billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=by_key)
    assert (
        users.ListApiKeys(pb.ListApiKeysRequest(), metadata=me)
        .api_keys[0]
        .HasField("last_use_time")
    )
    # A key can use the account, not manage its credentials.
    error = refused(
        lambda: users.CreateApiKey(pb.CreateApiKeyRequest(display_name="more"), metadata=by_key)
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED

    revoked = users.RevokeApiKey(
        pb.RevokeApiKeyRequest(api_key_id=created.api_key.id), metadata=me
    ).api_key
    assert revoked.HasField("revoke_time")
    error = refused(lambda: exchange(users, api_key=created.secret))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # A token the key yielded before stops working everywhere within seconds.
    seconds_until_refused(
        lambda: billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=by_key)
    )
    # Revoking again changes nothing; another person's key is not found.
    users.RevokeApiKey(pb.RevokeApiKeyRequest(api_key_id=created.api_key.id), metadata=me)
    _, other_session = signed_up(users, outbox)
    other = exchange(users, session_token=other_session)
    error = refused(
        lambda: users.RevokeApiKey(
            pb.RevokeApiKeyRequest(api_key_id=created.api_key.id), metadata=other
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_api_key_requests_are_checked(outbox, clients) -> None:
    users, _, _ = clients
    _, session = signed_up(users, outbox)
    me = exchange(users, session_token=session)
    past = Timestamp()
    past.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))
    error = refused(
        lambda: users.CreateApiKey(pb.CreateApiKeyRequest(expire_time=past), metadata=me)
    )
    assert set(field_violations(error)) == {"display_name", "expire_time"}
    assert "366 days" in field_violations(error)["expire_time"]
    assert users.ListApiKeys(pb.ListApiKeysRequest(), metadata=me).api_keys == []
    for index in range(20):
        users.CreateApiKey(pb.CreateApiKeyRequest(display_name=f"key {index}"), metadata=me)
    error = refused(
        lambda: users.CreateApiKey(pb.CreateApiKeyRequest(display_name="one too many"), metadata=me)
    )
    assert error_reason(error) == "TOO_MANY_API_KEYS"
    page = users.ListApiKeys(pb.ListApiKeysRequest(page_size=15), metadata=me)
    rest = users.ListApiKeys(
        pb.ListApiKeysRequest(page_size=15, page_token=page.next_page_token), metadata=me
    )
    assert len(page.api_keys) == 15 and len(rest.api_keys) == 5 and not rest.next_page_token


def test_signing_out_ends_the_sessions_tokens_on_every_service_within_seconds(
    outbox, clients
) -> None:
    users, billing, songs = clients
    _, session = signed_up(users, outbox)
    me = exchange(users, session_token=session)
    users.SignOut(pb.SignOutRequest(), metadata=me)
    error = refused(lambda: exchange(users, session_token=session))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    waits = [
        seconds_until_refused(
            lambda: billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=me)
        ),
        seconds_until_refused(
            lambda: songs.ListMySongs(song_service_pb2.ListMySongsRequest(), metadata=me)
        ),
        seconds_until_refused(
            lambda: users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=me)
        ),
    ]
    assert max(waits) < REVOCATION_BOUND_SECONDS


@pytest.mark.parametrize("principal", ["gateway", "songsvc", "songsvc-worker", "billingsvc"])
def test_no_key_but_usersvcs_makes_a_user_any_service_accepts(
    clients, tokens: StackKeys, principal: str
) -> None:
    """A leaked pod's private key signs genuinely, but only for its own service."""
    users, billing, songs = clients
    leaked = tokens.issuer(principal).signing_key
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "neutone",
        "aud": "neutone-services",
        "sub": str(uuid.uuid4()),
        "kind": "user",
        "cred": f"session:{uuid.uuid4()}",
        "iat": now,
        "exp": now + 60,
    }
    as_user = bearer(
        jwt.encode(claims, leaked.private_key, algorithm="EdDSA", headers={"kid": leaked.kid})
    )
    for call in (
        lambda: billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=as_user),
        lambda: songs.ListMySongs(song_service_pb2.ListMySongsRequest(), metadata=as_user),
        lambda: users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=as_user),
    ):
        assert refused(call).code() == grpc.StatusCode.UNAUTHENTICATED
    # Nor may it speak for another service.
    other = "usersvc" if principal != "usersvc" else "songsvc"
    as_other = bearer(
        jwt.encode(
            {**claims, "kind": "service", "sub": other, "cred": ""},
            leaked.private_key,
            algorithm="EdDSA",
            headers={"kid": leaked.kid},
        )
    )
    error = refused(
        lambda: billing.ListReservations(
            billing_service_pb2.ListReservationsRequest(), metadata=as_other
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
