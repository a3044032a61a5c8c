"""Password reset by mail, through a real SMTP server run in-process (aiosmtpd):
single-use, expiring links; the same answer for every address; mail that waits
in the outbox while the SMTP server is down and goes out once it is back."""

import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import grpc
import pytest
from aiosmtpd.controller import Controller

from neutone.v1 import user_service_pb2 as pb
from runtime.launcher import free_port, stack_outbox
from tests.integration.helpers import confirmed_sign_up, error_reason, field_violations
from tests.integration.users.conftest import OwnUserService, StartUserService
from usersvc.mail import link_token

PASSWORD = "correct horse battery"


class Inbox:
    """What the SMTP server received (aiosmtpd calls handle_DATA per message)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, to: str, *, subject: str, timeout: float = 15) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.messages):
                if message["To"] == to and message["Subject"] == subject:
                    return message
            assert time.monotonic() < deadline, f"no {subject!r} mail to {to}"
            time.sleep(0.05)


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield inbox
    controller.stop()


def mailing_usersvc(start: StartUserService, port: int, **settings: str) -> OwnUserService:
    return start(
        mail__smtp_host="127.0.0.1",
        mail__smtp_port=str(port),
        mail__smtp_security="none",
        **settings,
    )


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    start_usersvc: StartUserService, smtp: Inbox, smtp_port: int, tokens
) -> None:
    usersvc = mailing_usersvc(start_usersvc, smtp_port)
    users = usersvc.users
    email = f"reset-{uuid.uuid4().hex[:12]}@example.com"
    users.SignUp(pb.SignUpRequest(email=email, password=PASSWORD, display_name="Ada"))
    confirm = smtp.wait_for(email, subject="Confirm your Neutone account")
    signed_up = users.ConfirmSignUp(
        pb.ConfirmSignUpRequest(token=link_token(confirm, "confirm-sign-up") or "")
    )
    session = signed_up.session_token

    # A registered and an unknown address get the same answer, and each a mail.
    unknown = f"nobody-{uuid.uuid4().hex[:12]}@example.com"
    for address in (email, unknown):
        assert (
            users.RequestPasswordReset(pb.RequestPasswordResetRequest(email=address.upper()))
            == pb.RequestPasswordResetResponse()
        )
    assert (
        "no Neutone account"
        in smtp.wait_for(unknown, subject="Neutone password reset").get_content()
    )
    reset = smtp.wait_for(email, subject="Reset your Neutone password")
    token = link_token(reset, "reset-password")
    assert token

    with pytest.raises(grpc.RpcError) as short:
        users.ResetPassword(pb.ResetPasswordRequest(token=token, new_password="short"))
    assert "new_password" in field_violations(short.value)
    users.ResetPassword(pb.ResetPasswordRequest(token=token, new_password="a brand new one"))
    with pytest.raises(grpc.RpcError) as again:
        users.ResetPassword(pb.ResetPasswordRequest(token=token, new_password="yet another one"))
    assert error_reason(again.value) == "RESET_TOKEN_INVALID"
    # Every session ended; the new password signs in, the old one does not.
    with pytest.raises(grpc.RpcError) as ended:
        users.CreateIdentityToken(pb.CreateIdentityTokenRequest(session_token=session))
    assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED
    users.SignIn(pb.SignInRequest(email=email, password="a brand new one"))
    with pytest.raises(grpc.RpcError):
        users.SignIn(pb.SignInRequest(email=email, password=PASSWORD))


def test_reset_links_expire_and_a_password_change_voids_them(
    start_usersvc: StartUserService, smtp: Inbox, smtp_port: int, tokens
) -> None:
    # Links last 1.2 s here.
    usersvc = mailing_usersvc(start_usersvc, smtp_port, password_reset_link_minutes="0.02")
    users = usersvc.users
    email = f"expire-{uuid.uuid4().hex[:12]}@example.com"
    users.SignUp(pb.SignUpRequest(email=email, password=PASSWORD, display_name="Ada"))
    confirm = smtp.wait_for(email, subject="Confirm your Neutone account")
    users.ConfirmSignUp(pb.ConfirmSignUpRequest(token=link_token(confirm, "confirm-sign-up") or ""))

    users.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))
    token = link_token(
        smtp.wait_for(email, subject="Reset your Neutone password"), "reset-password"
    )
    time.sleep(1.5)
    with pytest.raises(grpc.RpcError) as expired:
        users.ResetPassword(
            pb.ResetPasswordRequest(token=token or "", new_password="a new password")
        )
    assert error_reason(expired.value) == "RESET_TOKEN_INVALID"


def test_mail_waits_while_the_smtp_server_is_down(
    start_usersvc: StartUserService, smtp_port: int, tokens
) -> None:
    usersvc = mailing_usersvc(start_usersvc, smtp_port)
    email = f"later-{uuid.uuid4().hex[:12]}@example.com"
    # No SMTP server yet: the answer is the same, and the mail waits.
    assert (
        usersvc.users.SignUp(pb.SignUpRequest(email=email, password=PASSWORD, display_name="Ada"))
        == pb.SignUpResponse()
    )
    time.sleep(1)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        # The outbox tries again with backoff (1, 2, 4 s ...).
        confirm = inbox.wait_for(email, subject="Confirm your Neutone account", timeout=20)
    finally:
        controller.stop()
    assert link_token(confirm, "confirm-sign-up")


def test_mail_to_one_address_is_limited_without_telling(
    start_usersvc: StartUserService, tokens
) -> None:
    usersvc = start_usersvc(mails_per_address="2")
    users = usersvc.users
    email = f"flood-{uuid.uuid4().hex[:12]}@example.com"
    confirmed_sign_up(users, stack_outbox(tokens.directory), email=email)  # mail 1
    users.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))  # mail 2
    # Sign-ups to the address still get the usual answer, but no more mail.
    assert (
        users.SignUp(pb.SignUpRequest(email=email, password=PASSWORD, display_name="Again"))
        == pb.SignUpResponse()
    )
    with pytest.raises(grpc.RpcError) as limited:
        users.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))
    assert limited.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(limited.value) == "PASSWORD_RESETS_RATE_LIMITED"
