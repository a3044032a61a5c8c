"""A private Neutone stack for benchmarks: scratch database (embedded, or on the
server in NEUTONE_TEST_DATABASE_URL), free ports, real service processes."""

import os
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from runtime import database
from runtime.identity import Identity, IdentityTokens, PrincipalKind
from runtime.launcher import Stack, isolated_env


@contextmanager
def bench_stack(
    services: Sequence[str], *, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Stack, IdentityTokens]]:
    with tempfile.TemporaryDirectory(prefix="neutone-bench-") as scratch:
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            Path(scratch)
        )
        url = database.create_scratch_database(server, prefix="neutone_bench")
        key = secrets.token_urlsafe(48)
        stack = Stack(
            {
                **isolated_env(database_url=url, identity_key=key),
                "NEUTONE_DATA_DIR": str(Path(scratch) / "data"),
                "NEUTONE_LOG_LEVEL": "WARNING",
                # One client (the benchmark) signs every account up and in.
                "NEUTONE_SIGN_UPS_PER_CLIENT": "1000000",
                "NEUTONE_SIGN_IN_FAILURES_PER_CLIENT": "1000000",
                **(extra_env or {}),
            },
            log_dir=Path(scratch) / "logs",
        )
        try:
            database.upgrade(url)
            for service in services:
                stack.start(service)
            yield stack, IdentityTokens(key, ttl=timedelta(hours=1))
        finally:
            stack.stop_all()
            database.drop_database(server, url)
            database.stop_embedded_database(Path(scratch))


def service_metadata(tokens: IdentityTokens) -> tuple[tuple[str, str]]:
    token = tokens.mint(Identity(kind=PrincipalKind.SERVICE, subject="bench")).token
    return (("authorization", f"Bearer {token}"),)
