"""The CLI's identity tokens (one exchange per process, renewed before they
expire) and its session file (its owner's only, replaced whole)."""

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.credentials import Credential, CredentialKind, IdentityTokens, SessionFile
from cli.errors import CliError
from neutone.v1 import user_service_pb2 as pb

LIFETIME = timedelta(minutes=5)


class FakeUserService:
    """CreateIdentityToken answering a new token each time, valid for LIFETIME."""

    def __init__(self) -> None:
        self.requests: list[pb.CreateIdentityTokenRequest] = []

    def exchange(self, request: pb.CreateIdentityTokenRequest) -> pb.CreateIdentityTokenResponse:
        self.requests.append(request)
        reply = pb.CreateIdentityTokenResponse(identity_token=f"token-{len(self.requests)}")
        reply.expire_time.FromDatetime(datetime.now(UTC) + LIFETIME)
        return reply


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_exchange_serves_every_call_until_the_token_nears_its_end() -> None:
    users, clock = FakeUserService(), Clock()
    tokens = IdentityTokens(
        users.exchange, Credential(CredentialKind.API_KEY, "ntk_secret"), clock=clock
    )
    first = tokens.metadata()
    assert first == (("authorization", "Bearer token-1"),)
    assert users.requests == [pb.CreateIdentityTokenRequest(api_key="ntk_secret")]
    clock.now += LIFETIME.total_seconds() * 0.7
    assert tokens.metadata() == first
    assert len(users.requests) == 1
    # With a quarter of its lifetime left, the next call gets a new token.
    clock.now += LIFETIME.total_seconds() * 0.1
    assert tokens.metadata() == (("authorization", "Bearer token-2"),)
    assert len(users.requests) == 2


def test_a_session_is_exchanged_as_a_session_token() -> None:
    users = FakeUserService()
    IdentityTokens(users.exchange, Credential(CredentialKind.SESSION_TOKEN, "s3ss10n")).metadata()
    assert users.requests[0].WhichOneof("credential") == "session_token"


def test_without_a_credential_nothing_is_exchanged() -> None:
    users = FakeUserService()
    with pytest.raises(CliError, match="not signed in"):
        IdentityTokens(users.exchange, None).metadata()
    assert users.requests == []


def test_the_session_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "config" / "neutone" / "session"
    session = SessionFile(path)
    assert session.read() is None
    session.save("first")
    path.chmod(0o644)  # loosened by hand: the next save must not keep that
    session.save("second")
    assert session.read() == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["session"]
    session.remove()
    session.remove()
    assert session.read() is None
