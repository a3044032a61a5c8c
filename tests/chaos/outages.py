"""The product's embedded PostgreSQL, crashed and started again."""

from pathlib import Path

import pgserver
import psycopg


class EmbeddedDatabase:
    def __init__(self, url: str) -> None:
        with psycopg.connect(url) as db:
            (data_directory,) = db.execute("SHOW data_directory").fetchone() or ("",)
        self._pgdata = Path(data_directory)
        # The handle runtime.database took when it started the server in this process:
        # starting through it keeps it pointing at the running server, which it stops
        # when the product goes.
        self._server = pgserver.get_server(self._pgdata)
        self._url = self._server.get_uri()

    def crash(self) -> None:
        """Stops the server as a crash would: every backend killed at once, no
        checkpoint (the start recovers from the log)."""
        pgserver.pg_ctl(
            ["-w", "-m", "immediate", "stop"],
            pgdata=self._pgdata,
            # Run as root, pgserver runs the server as a user of its own.
            user=self._server.system_user,
        )

    def start(self) -> None:
        self._server.ensure_postgres_running()
        # Where the services find it: the URLs they hold must work again as they are.
        assert self._server.get_uri() == self._url, "the server came back on another socket"
