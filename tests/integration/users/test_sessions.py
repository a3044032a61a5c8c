"""Sign-up, sign-in, identity tokens and sign-out through the real usersvc."""

from datetime import UTC, datetime, timedelta

import grpc
import jwt
import psycopg
import pytest

from neutone.v1 import user_service_pb2 as pb
from neutone.v1 import user_service_pb2_grpc
from runtime.identity import IdentityIssuer
from runtime.keys import SigningKey
from runtime.launcher import stack_outbox
from tests.integration.helpers import (
    StackKeys,
    bearer,
    confirmed_sign_up,
    error_reason,
    mail_to,
    mailed_token,
    service_identity,
)


@pytest.fixture
def users(users_channel: grpc.Channel) -> user_service_pb2_grpc.UserServiceStub:
    return user_service_pb2_grpc.UserServiceStub(users_channel)


def test_sign_up_sign_in_authenticate_sign_out(users, tokens: StackKeys) -> None:
    signed_up = confirmed_sign_up(
        users,
        stack_outbox(tokens.directory),
        email="  Ada@Example.COM ",
        password="analytical engine",
        display_name=" Ada ",
    )
    assert signed_up.user.email == "ada@example.com"
    assert signed_up.user.display_name == "Ada"
    assert signed_up.session_token

    signed_in = users.SignIn(
        pb.SignInRequest(email="ADA@example.com", password="analytical engine")
    )
    assert signed_in.user.id == signed_up.user.id
    assert signed_in.session_token != signed_up.session_token

    session = users.AuthenticateSession(
        pb.AuthenticateSessionRequest(session_token=signed_in.session_token),
        metadata=service_identity(tokens),
    )
    identity = tokens.verifier().verify(session.identity_token)
    assert identity.is_user and identity.subject == signed_up.user.id
    assert session.expire_time.ToDatetime(UTC) > datetime.now(UTC)

    me = users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=bearer(session.identity_token))
    assert me.user.email == "ada@example.com"

    users.SignOut(pb.SignOutRequest(), metadata=bearer(session.identity_token))
    with pytest.raises(grpc.RpcError) as signed_out:
        users.AuthenticateSession(
            pb.AuthenticateSessionRequest(session_token=signed_in.session_token),
            metadata=service_identity(tokens),
        )
    assert signed_out.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # Signing out ends only that session; the sign-up session still works.
    users.AuthenticateSession(
        pb.AuthenticateSessionRequest(session_token=signed_up.session_token),
        metadata=service_identity(tokens),
    )


def test_a_sign_up_link_works_once_and_a_taken_email_is_not_told(
    users, new_user, tokens: StackKeys
) -> None:
    outbox = stack_outbox(tokens.directory)
    existing = new_user()
    email = f"new-{existing.email}"
    # A new address and a taken one (in other letters) get the same answer.
    for address in (email, existing.email.upper()):
        reply = users.SignUp(
            pb.SignUpRequest(email=address, password="another password", display_name="Twin")
        )
        assert reply == pb.SignUpResponse()
    # The owner of the taken address is told instead; no account is made.
    notice = mail_to(
        outbox,
        existing.email,
        where=lambda message: message["Subject"] == "You already have a Neutone account",
    )
    assert "/forgot-password" in notice.get_content()
    token = mailed_token(outbox, email, "confirm-sign-up")
    confirmed = users.ConfirmSignUp(pb.ConfirmSignUpRequest(token=token))
    assert confirmed.user.email == email and confirmed.session_token
    for used_or_made_up in (token, "x" * 43):
        with pytest.raises(grpc.RpcError) as refused:
            users.ConfirmSignUp(pb.ConfirmSignUpRequest(token=used_or_made_up))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(refused.value) == "SIGN_UP_TOKEN_INVALID"


def test_unknown_email_and_wrong_password_look_the_same(users, new_user) -> None:
    user = new_user()
    with pytest.raises(grpc.RpcError) as wrong_password:
        users.SignIn(pb.SignInRequest(email=user.email, password="not the password"))
    with pytest.raises(grpc.RpcError) as unknown_email:
        users.SignIn(pb.SignInRequest(email="nobody-" + user.email, password="not the password"))
    for error in (wrong_password.value, unknown_email.value):
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_reason(error) == "BAD_CREDENTIALS"
    assert wrong_password.value.details() == unknown_email.value.details()


@pytest.mark.parametrize(
    "token_for",
    [
        "expired",
        "forged",
        "a service key making a user",
        "hmac with the public key",
        "no algorithm",
        "wrong_audience",
        "garbage",
        "wrong_scheme",
    ],
)
def test_bad_identity_tokens_are_refused(users, new_user, tokens: StackKeys, token_for) -> None:
    user = new_user()
    identity = tokens.verifier().verify(user.metadata[0][1].removeprefix("Bearer "))
    usersvc_key = tokens.issuer("usersvc").signing_key
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": identity.subject,
        "kind": "user",
        "cred": identity.credential,
        "iss": "neutone",
    }
    if token_for == "expired":
        stale = IdentityIssuer(usersvc_key, ttl=timedelta(seconds=1))
        metadata = bearer(stale.mint(identity, now=datetime.now(UTC) - timedelta(minutes=10)).token)
    elif token_for == "forged":
        # Signed by a key nobody trusts, under usersvc's key id.
        untrusted = SigningKey.generate("usersvc").private_key
        token = jwt.encode(
            {**claims, "aud": "neutone-services", "iat": now, "exp": now + 60},
            untrusted,
            algorithm="EdDSA",
            headers={"kid": usersvc_key.kid},
        )
        metadata = bearer(token)
    elif token_for == "a service key making a user":
        # A leaked songsvc key, say: it signs genuinely, but may not make users.
        songsvc_key = tokens.issuer("songsvc").signing_key
        token = jwt.encode(
            {**claims, "aud": "neutone-services", "iat": now, "exp": now + 60},
            songsvc_key.private_key,
            algorithm="EdDSA",
            headers={"kid": songsvc_key.kid},
        )
        metadata = bearer(token)
    elif token_for == "hmac with the public key":
        # The algorithm-confusion attack: an HMAC "signed" with the public key.
        public = usersvc_key.trusted().to_jwk()["x"].encode()
        token = jwt.encode(
            {**claims, "aud": "neutone-services", "iat": now, "exp": now + 60},
            public,
            algorithm="HS256",
            headers={"kid": usersvc_key.kid},
        )
        metadata = bearer(token)
    elif token_for == "no algorithm":
        token = jwt.encode(
            {**claims, "aud": "neutone-services", "iat": now, "exp": now + 60},
            None,
            algorithm="none",
            headers={"kid": usersvc_key.kid},
        )
        metadata = bearer(token)
    elif token_for == "wrong_audience":
        token = jwt.encode(
            {**claims, "aud": "elsewhere", "iat": now, "exp": now + 60},
            usersvc_key.private_key,
            algorithm="EdDSA",
            headers={"kid": usersvc_key.kid},
        )
        metadata = bearer(token)
    elif token_for == "garbage":
        metadata = bearer("not.a.token")
    else:
        metadata = (("authorization", user.metadata[0][1].replace("Bearer", "Basic")),)
    with pytest.raises(grpc.RpcError) as refused:
        users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_access_levels_are_enforced(users, new_user, tokens) -> None:
    user = new_user()
    with pytest.raises(grpc.RpcError) as anonymous:
        users.GetCurrentUser(pb.GetCurrentUserRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # AuthenticateSession is internal: a user's identity is not enough.
    with pytest.raises(grpc.RpcError) as as_user:
        users.AuthenticateSession(
            pb.AuthenticateSessionRequest(session_token=user.session_token), metadata=user.metadata
        )
    assert as_user.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # And a service is not a user.
    service = bearer(tokens.service_token())
    with pytest.raises(grpc.RpcError) as as_service:
        users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=service)
    assert as_service.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_expired_sessions_do_not_authenticate(users, new_user, tokens, database_url) -> None:
    user = new_user()
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE users.sessions SET expire_time = now() - interval '1 second'"
            " WHERE account_id = %s",
            (user.id,),
        )
    with pytest.raises(grpc.RpcError) as expired:
        users.AuthenticateSession(
            pb.AuthenticateSessionRequest(session_token=user.session_token),
            metadata=service_identity(tokens),
        )
    assert expired.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_session_tokens_are_stored_only_as_hashes(new_user, database_url) -> None:
    user = new_user()
    with psycopg.connect(database_url) as db:
        stored = db.execute(
            "SELECT token_hash FROM users.sessions WHERE account_id = %s", (user.id,)
        ).fetchall()
        password_hash = db.execute(
            "SELECT password_hash FROM users.accounts WHERE id = %s", (user.id,)
        ).fetchone()[0]
    assert stored and all(user.session_token.encode() not in bytes(row[0]) for row in stored)
    assert password_hash.startswith("$argon2id$")
