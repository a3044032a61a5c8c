"""Mail usersvc sends: sign-up confirmations and password resets.

Messages are written in the same transaction as what they announce (an outbox
row, `usersvc.outbox`) and handed to a `Mailer` afterwards: an SMTP server
(aiosmtplib) in production, or a folder of .eml files in the embedded default,
which `make up` names so a developer can open the links."""

import asyncio
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from usersvc.settings import MailSettings, SmtpSecurity


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str

    def as_message(self, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        # 8bit, not quoted-printable: a link stays whole on its line, for mail
        # clients and for people reading the outbox's files alike.
        message.set_content(self.body, cte="8bit")
        return message


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Hands the message on; raises when it could not (the outbox retries)."""


class SmtpMailer:
    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        settings = self._settings
        await aiosmtplib.send(
            mail.as_message(settings.sender),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            timeout=settings.smtp_timeout_seconds,
        )


class OutboxFolder:
    """Each message as an .eml file, named so that they sort by time."""

    def __init__(self, folder: Path, *, sender: str) -> None:
        self.folder = folder
        self._sender = sender

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._write, mail)

    def messages_to(self, address: str) -> list[EmailMessage]:
        """The messages to `address`, oldest first: for the people (and tests)
        reading the outbox."""
        found = []
        for path in sorted(self.folder.glob("*.eml")) if self.folder.is_dir() else ():
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == address:
                found.append(message)
        return found

    def _write(self, mail: Mail) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        data = mail.as_message(self._sender).as_bytes()
        # Whole files only: a reader never sees half a message.
        with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".part", delete=False) as file:
            file.write(data)
        os.replace(file.name, self.folder / name)


def open_mailer(settings: MailSettings, *, outbox_dir: Path) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxFolder(outbox_dir, sender=settings.sender)


def confirm_sign_up(*, to: str, link: str, hours: float) -> Mail:
    return Mail(
        to=to,
        subject="Confirm your Neutone account",
        body=(
            "Welcome to Neutone!\n\n"
            f"Open this link to confirm your address and start making songs:\n\n{link}\n\n"
            f"The link works once, for {hours:g} hours. If you did not sign up, ignore "
            "this message: no account is made without it.\n"
        ),
    )


def already_registered(*, to: str, sign_in_link: str, reset_link: str) -> Mail:
    return Mail(
        to=to,
        subject="You already have a Neutone account",
        body=(
            "Someone (maybe you) tried to sign up for Neutone with this address, which "
            "already has an account.\n\n"
            f"Sign in: {sign_in_link}\n"
            f"Forgot your password? {reset_link}\n\n"
            "If it was not you, nothing changed and you need not do anything.\n"
        ),
    )


def reset_password(*, to: str, link: str, minutes: float) -> Mail:
    return Mail(
        to=to,
        subject="Reset your Neutone password",
        body=(
            f"Open this link to choose a new password:\n\n{link}\n\n"
            f"The link works once, for {minutes:g} minutes; setting a new password signs "
            "you out everywhere. If you did not ask for it, ignore this message.\n"
        ),
    )


def no_account(*, to: str, sign_up_link: str) -> Mail:
    return Mail(
        to=to,
        subject="Neutone password reset",
        body=(
            "Someone (maybe you) asked to reset the Neutone password of this address, "
            "but it has no Neutone account.\n\n"
            f"Sign up: {sign_up_link}\n\n"
            "If it was not you, you need not do anything.\n"
        ),
    )


def link_token(message: EmailMessage, page: str) -> str | None:
    """The token of the message's link to `page` (e.g. "reset-password")."""
    body = message.get_body(("plain",))
    found = re.search(rf"/{page}\?token=([A-Za-z0-9_-]+)", body.get_content() if body else "")
    return found.group(1) if found else None
