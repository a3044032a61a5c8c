"""The `neutone` command as a person or a script runs it: the installed entry point
in a subprocess, against the session's real services, with nothing but their
addresses and the caller's own credentials (no NEUTONE_KEYS_DIR, no key file: it
runs from an empty folder with a home of its own)."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from runtime.launcher import Stack
from tests.integration.helpers import SignedUpUser

# The project's own checkout: the entry point imports this tree's code, not
# whichever tree the shared virtual environment was installed from.
REPOSITORY = Path(__file__).resolve().parents[3]
ENTRY_POINT = Path(sys.executable).parent / "neutone"
ADDRESSES = ("NEUTONE_USERSVC_ADDRESS", "NEUTONE_SONGSVC_ADDRESS", "NEUTONE_BILLINGSVC_ADDRESS")


@dataclass(frozen=True)
class Ran:
    status: int
    stdout: str
    stderr: str

    def document(self) -> object:
        """stdout as the one JSON document --json promises."""
        assert self.status == 0, self.stderr
        return json.loads(self.stdout)

    def failure(self) -> dict[str, object]:
        """A --json failure: nothing on stdout, one JSON document on stderr."""
        assert self.status == 1, (self.stdout, self.stderr)
        assert self.stdout == ""
        return json.loads(self.stderr)


@dataclass(frozen=True)
class Neutone:
    home: Path
    env: Mapping[str, str]

    def __call__(self, *args: str, stdin: str = "", env: Mapping[str, str] | None = None) -> Ran:
        done = subprocess.run(
            [str(ENTRY_POINT), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.home,
            env={**self.env, **(env or {})},
            timeout=120,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, **options: object) -> str:
        ran = self(*args, **options)  # type: ignore[arg-type]
        assert ran.status == 0, ran.stderr
        return ran.stdout

    def json(self, *args: str, **options: object) -> object:
        return self(*args, "--json", **options).document()  # type: ignore[arg-type]

    def signed_in(self, user: SignedUpUser) -> "Neutone":
        self.ok("signin", "--email", user.email, stdin=user.password + "\n")
        return self

    @property
    def session_file(self) -> Path:
        return self.home / ".config" / "neutone" / "session"

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(ENTRY_POINT), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.home,
            env=dict(self.env),
        )


def cli_env(stack: Stack, home: Path, **addresses: str) -> dict[str, str]:
    """Only what any internal client has: a PATH, a home, the service addresses."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(REPOSITORY),
        **{name: stack.env[name] for name in ADDRESSES},
        **addresses,
    }


@pytest.fixture
def services(
    users_channel: grpc.Channel, billing_channel: grpc.Channel, songs_channel: grpc.Channel
) -> None:
    """usersvc, billingsvc and songsvc (on its S3 store) running."""


@pytest.fixture
def make_neutone(
    stack: Stack, services: None, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Neutone]:
    """A person's (or a script's) `neutone`, with a home of its own; `addresses`
    override where it finds the services."""

    def make(**addresses: str) -> Neutone:
        home = tmp_path_factory.mktemp("home")
        return Neutone(home, cli_env(stack, home, **addresses))

    return make


@pytest.fixture
def neutone(make_neutone: Callable[..., Neutone]) -> Neutone:
    return make_neutone()
