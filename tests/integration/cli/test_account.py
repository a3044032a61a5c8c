"""Signing up, in and out with `neutone`, and who the credentials are: a session
kept for its owner only, exchanged for identity tokens through the public
CreateIdentityToken, never with a service's key."""

import stat
import uuid
from pathlib import Path

import grpc
import pytest

from neutone.v1 import user_service_pb2, user_service_pb2_grpc
from runtime.launcher import stack_outbox
from tests.integration.cli.conftest import ADDRESSES, Neutone
from tests.integration.helpers import mail_to, mailed_token


def test_the_cli_needs_only_service_addresses_and_its_own_credentials(neutone: Neutone) -> None:
    neutone_settings = {name for name in neutone.env if name.startswith("NEUTONE_")}
    assert neutone_settings == set(ADDRESSES)
    assert list(neutone.home.iterdir()) == []  # no key file, no data folder


def test_sign_up_in_and_out(
    make_neutone, new_user, users_channel: grpc.Channel, keys_dir: Path
) -> None:
    neutone: Neutone = make_neutone()
    email = f"cli-{uuid.uuid4().hex[:12]}@example.com"
    ran = neutone("signup", "--email", email, "--name", "Cli", stdin="correct horse battery\n")
    assert ran.status == 0, ran.stderr
    assert f"a confirmation link was mailed to {email}" in ran.stdout
    assert not neutone.session_file.exists()
    link = mail_to(
        stack_outbox(keys_dir), email, where=lambda message: "confirm-sign-up" in str(message)
    )
    url = next(word for word in link.get_content().split() if "/confirm-sign-up?token=" in word)
    ran = neutone("confirm", url)
    assert ran.status == 0, ran.stderr
    assert f"signed in as {email}" in ran.stdout
    assert neutone.json("balance") == {"balance": 3}

    user = new_user()
    signed_in = neutone.json("signin", "--email", user.email, stdin=user.password + "\n")
    assert signed_in["user"]["email"] == user.email and "expire_time" in signed_in
    # The session token is kept in the session file, for its owner only, never printed.
    token = neutone.session_file.read_text()
    assert "session_token" not in signed_in and token not in str(signed_in)
    assert stat.S_IMODE(neutone.session_file.stat().st_mode) == 0o600
    whoami = neutone.json("whoami")
    assert whoami == {"user": signed_in["user"]}
    assert "through a session" in neutone.ok("whoami")

    assert neutone.json("signout") == {}
    assert not neutone.session_file.exists()
    users = user_service_pb2_grpc.UserServiceStub(users_channel)
    with pytest.raises(grpc.RpcError) as revoked:
        users.CreateIdentityToken(user_service_pb2.CreateIdentityTokenRequest(session_token=token))
    assert revoked.value.code() == grpc.StatusCode.UNAUTHENTICATED
    ran = neutone("whoami")
    assert ran.status == 1 and "not signed in" in ran.stderr and ran.stdout == ""
    assert neutone.ok("signout") == "not signed in\n"


def test_a_wrong_password_is_refused_and_keeps_the_session(neutone: Neutone, new_user) -> None:
    user = new_user()
    neutone.signed_in(user)
    kept = neutone.session_file.read_text()
    ran = neutone("signin", "--email", user.email, stdin="not the password\n")
    assert ran.status == 1 and ran.stdout == ""
    assert ran.stderr.startswith("error: UNAUTHENTICATED: ")
    assert neutone.session_file.read_text() == kept
    assert neutone.json("whoami")["user"]["id"] == user.id


def test_a_session_that_ended_elsewhere_is_reported_and_signs_out_cleanly(
    neutone: Neutone, new_user, users_channel: grpc.Channel
) -> None:
    user = new_user()
    neutone.signed_in(user)
    users = user_service_pb2_grpc.UserServiceStub(users_channel)
    session = neutone.session_file.read_text()
    identity = users.CreateIdentityToken(
        user_service_pb2.CreateIdentityTokenRequest(session_token=session)
    ).identity_token
    users.SignOut(
        user_service_pb2.SignOutRequest(), metadata=(("authorization", f"Bearer {identity}"),)
    )
    failure = neutone("balance", "--json").failure()
    assert failure["code"] == "UNAUTHENTICATED" and failure["reason"] == "NO_CREDENTIAL"
    # Nothing is left to revoke; the local copy goes.
    assert neutone.ok("signout") == "signed out\n"
    assert not neutone.session_file.exists()


def test_public_reads_need_no_credentials(neutone: Neutone) -> None:
    categories = neutone.json("categories")["categories"]
    assert {"id": "jazz", "display_name": "Jazz"} in categories
    assert neutone.json("products")["products"]
    assert "songs" in neutone.json("feed", "--page-size", "1")
    ran = neutone("balance")
    assert ran.status == 1 and "not signed in" in ran.stderr


def test_managing_the_account(make_neutone, new_user, keys_dir: Path) -> None:
    user = new_user()
    neutone: Neutone = make_neutone().signed_in(user)
    elsewhere: Neutone = make_neutone().signed_in(user)
    renamed = neutone.json("rename-account", "DJ Cli")
    assert renamed["user"]["display_name"] == "DJ Cli"

    ran = neutone("passwd", stdin=f"{user.password}\na new password\n")
    assert ran.status == 0, ran.stderr
    assert "your other sessions have ended" in ran.stdout
    assert neutone.json("whoami")["user"]["display_name"] == "DJ Cli"

    # A forgotten password, reset through the mailed link.
    assert neutone.json("forgot-password", user.email) == {}
    token = mailed_token(stack_outbox(keys_dir), user.email, "reset-password")
    # "--": a token may begin with "-".
    reset = neutone("reset-password", "--json", "--", token, stdin="the newest password\n")
    assert reset.document() == {}
    fresh: Neutone = make_neutone()
    assert fresh("signin", "--email", user.email, stdin="the newest password\n").status == 0
    assert fresh.json("signout", "--everywhere") == {}
    assert not fresh.session_file.exists()

    ran = fresh("delete-account")
    assert ran.status == 1 and "--yes" in ran.stderr
    fresh.ok("signin", "--email", user.email, stdin="the newest password\n")
    assert fresh.json("delete-account", "--yes", stdin="the newest password\n") == {}
    ran = make_neutone()("signin", "--email", user.email, stdin="the newest password\n")
    assert ran.status == 1 and "UNAUTHENTICATED" in ran.stderr
    assert elsewhere("whoami").status == 1
