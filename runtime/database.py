"""The database layer: one PostgreSQL database, one schema per service,
SQLAlchemy 2 Core over psycopg 3, Alembic migrations per service.

Without a configured URL (development), an embedded PostgreSQL from the pgserver
wheel is started under the data directory, so a fresh machine needs no server."""

import argparse
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from runtime.roles import RoleSettings, RoleSetupError, service_roles, set_up_roles
from runtime.settings import DatabaseSettings, load_settings

if TYPE_CHECKING:
    import pgserver

# The services whose schemas this database holds, in migration order.
MIGRATIONS = {
    "usersvc": "usersvc:migrations",
    "billingsvc": "billingsvc:migrations",
    "songsvc": "songsvc:migrations",
}

# Handles of the embedded servers this process started or joined, by data directory.
_embedded_servers: dict[Path, "pgserver.PostgresServer"] = {}


def embedded_database_url(data_dir: Path) -> str:
    """Starts (or joins) the embedded PostgreSQL under `data_dir`; it stops when the
    last process using it exits."""
    # Imported here: pgserver touches the user's runtime directory on import, and
    # only development runs without a database URL need it.
    import pgserver

    pgdata = (data_dir / "postgres").resolve()
    if pgdata not in _embedded_servers:
        pgdata.mkdir(parents=True, exist_ok=True)
        _embedded_servers[pgdata] = pgserver.get_server(pgdata, cleanup_mode="stop")
    return _embedded_servers[pgdata].get_uri()


def stop_embedded_database(data_dir: Path) -> None:
    """Stops the embedded server under `data_dir` now, if this process is its last
    user, rather than when the process exits (tests remove the directory after)."""
    server = _embedded_servers.pop((data_dir / "postgres").resolve(), None)
    if server is not None:
        server.cleanup()


def database_url(settings: DatabaseSettings) -> str:
    return settings.database_url or embedded_database_url(settings.data_dir)


def sqlalchemy_url(url: str) -> str:
    """Names the psycopg 3 driver in a plain postgresql:// URL."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("database URL must look like postgresql://...")
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


# A pooled connection idle for longer than this is tested before it is handed out:
# a database restart leaves idle connections dead. One in steady use is not, which
# saves a round trip per transaction (SQLAlchemy's pool_pre_ping tests every
# checkout). If a busy connection died anyway, its statement fails and SQLAlchemy
# replaces the whole pool.
PING_AFTER_IDLE_SECONDS = 5.0


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS,
    autocommit: bool = False,
) -> AsyncEngine:
    """A pool of up to twice `pool_size` connections; with `autocommit`, each runs every
    statement on its own unless a transaction says otherwise (Database's do)."""
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_async_engine(
        sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, **options
    )
    _test_idle_connections(engine, ping_after_idle_seconds)
    return engine


def _test_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @sa.event.listens_for(pool, "checkin")
    def returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(pool, "checkout")
    def handed_out(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool retries with a new connection.
            raise sa.exc.DisconnectionError(str(error)) from error


def with_database(url: str, name: str) -> str:
    """`url` pointing at the database `name` instead."""
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def create_scratch_database(server_url: str, *, prefix: str = "neutone_scratch") -> str:
    """Creates an empty database on the server (for tests and benchmarks); its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = sa.engine.make_url(url).database
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Database:
    """A service's connection pool. `transaction()` is the one way to write;
    `connection()` reads, on `open`'s autocommit engine each statement on its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # PostgreSQL's default level, said outright: on an autocommit engine a plain
        # begin() would not start a transaction at all.
        self._transactions = engine.execution_options(isolation_level="READ COMMITTED")

    @classmethod
    def open(cls, settings: DatabaseSettings) -> "Database":
        # Reads outside a transaction: READ COMMITTED gives every statement its own
        # snapshot anyway, and no BEGIN and ROLLBACK saves two round trips per read
        # (and the database their work). Writes pay for switching instead.
        return cls(create_engine(database_url(settings), autocommit=True))

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._transactions.begin()

    def connection(self) -> AsyncConnection:
        return self.engine.connect()

    async def close(self) -> None:
        await self.engine.dispose()


# ---- migrations -------------------------------------------------------------


def _alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS[service])
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, services: Sequence[str] = tuple(MIGRATIONS), revision: str = "head") -> None:
    for service in services:
        command.upgrade(_alembic_config(service, url), revision)


def downgrade(
    url: str, services: Sequence[str] = tuple(MIGRATIONS), revision: str = "base"
) -> None:
    for service in reversed(list(services)):
        command.downgrade(_alembic_config(service, url), revision)


def run_migrations(metadata: sa.MetaData) -> None:
    """The body of every service's Alembic env.py: migrates the service's own schema,
    keeping its version table inside that schema."""
    schema = metadata.schema
    if schema is None:
        raise ValueError("service metadata must name its schema")
    engine = sa.create_engine(
        sqlalchemy_url(context.config.attributes["database_url"]), poolclass=sa.pool.NullPool
    )
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Migrate the services' database schemas.")
    parser.add_argument(
        "action",
        choices=["upgrade", "downgrade", "roles"],
        help="roles: create or update each service's own role and grant it its schema only"
        " (runtime/roles.py); run as the migrations role, after the migrations",
    )
    parser.add_argument("services", nargs="*", help=f"default: all of {', '.join(MIGRATIONS)}")
    parser.add_argument("--revision", help="target revision (default: head / base)")
    parser.add_argument(
        "--roles", action="store_true", help="upgrade, then set up the roles (the chart's Job)"
    )
    args = parser.parse_args()
    unknown = set(args.services) - set(MIGRATIONS)
    if unknown:
        parser.error(f"unknown services: {', '.join(sorted(unknown))}")
    services = args.services or list(MIGRATIONS)
    with_roles = args.action == "roles" or args.roles
    if with_roles and (args.services or args.action == "downgrade"):
        # Every service's role is needed to keep each schema to its own.
        parser.error("roles are set up for all services at once, after an upgrade")
    role_settings = load_settings(RoleSettings) if with_roles else None
    url = database_url(role_settings or load_settings(DatabaseSettings))
    try:
        # Checked before migrating: a bad role URL must not leave a half-done deployment.
        roles = (
            service_roles(role_settings.service_urls(), need_passwords=role_settings.create_roles)
            if role_settings is not None
            else []
        )
        if args.action == "upgrade":
            upgrade(url, services, args.revision or "head")
        elif args.action == "downgrade":
            downgrade(url, services, args.revision or "base")
        if role_settings is not None:
            set_up_roles(url, roles, create_roles=role_settings.create_roles)
    except RoleSetupError as error:
        raise SystemExit(str(error)) from None


if __name__ == "__main__":
    main()


def interval(seconds: float | sa.ColumnElement[float]) -> sa.ColumnElement[Any]:
    """`seconds` as a PostgreSQL interval, for arithmetic with now()."""
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
