"""Per-service database roles against the real PostgreSQL, set up by the real command
(`python -m runtime.database upgrade --roles`, as the chart's Job runs it) on a scratch
database owned by a migrations role that is no superuser (as on a managed PostgreSQL): each
role reads and writes its own schema, is refused everything else, and the command can run
again and again."""

import base64
import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from billingsvc import store as billing_store
from billingsvc.tables import EntryKind
from runtime import database
from runtime.database import Database
from runtime.ratelimit import Limit, RateLimiter
from runtime.roles import SCHEMAS
from songsvc import tables as song_tables
from usersvc import store as user_store

REPO = Path(__file__).resolve().parents[3]
SERVICES = tuple(SCHEMAS)


def url_as(url: str, user: str, password: str | None = None) -> str:
    return (
        sa.engine.make_url(url)
        .set(username=user, password=password)
        .render_as_string(hide_password=False)
    )


@dataclass
class Deployment:
    """A scratch database, its migrations role and one role per service, all named for this
    test alone (roles belong to the whole server) and dropped after it."""

    server_url: str
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    database_url: str = ""
    admin: str = ""
    passwords: dict[str, str] = field(default_factory=dict)
    created_roles: list[str] = field(default_factory=list)

    def role(self, service: str) -> str:
        return f"neutone_test_{service}_{self.suffix}"

    @property
    def admin_url(self) -> str:
        return url_as(self.database_url, self.admin, "migrations-password")

    def service_url(self, service: str) -> str:
        return url_as(self.database_url, self.role(service), self.passwords[service])

    def superuser(self, statement: str | sql.Composable, params: Any = ()) -> list[tuple[Any, ...]]:
        """Runs a statement as the server's superuser (the DBA) in the scratch database."""
        with psycopg.connect(self.database_url, autocommit=True) as db:
            cursor = db.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def command_env(self, **overrides: str) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("NEUTONE_")}
        env["NEUTONE_DATABASE_URL"] = self.admin_url
        for service in SERVICES:
            env[f"NEUTONE_{service.upper()}_DATABASE_URL"] = self.service_url(service)
        return env | overrides

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtime.database", *args],
            cwd=REPO,
            env=self.command_env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def set_up(self, **env: str) -> subprocess.CompletedProcess[str]:
        result = self.run("upgrade", "--roles", **env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


def new_password() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def make_deployment(database_server_url: str) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(
        *, admin_can_create_roles: bool = True, admin_owns_database: bool = True
    ) -> Deployment:
        deployment = Deployment(server_url=database_server_url)
        made.append(deployment)
        deployment.admin = f"neutone_test_migrations_{deployment.suffix}"
        attributes = "CREATEROLE" if admin_can_create_roles else "NOCREATEROLE"
        with psycopg.connect(database_server_url, autocommit=True) as db:
            db.execute(f'CREATE ROLE "{deployment.admin}" LOGIN {attributes}')
        deployment.created_roles.append(deployment.admin)
        deployment.database_url = database.create_scratch_database(
            database_server_url, prefix="neutone_roles"
        )
        name = sa.engine.make_url(deployment.database_url).database
        with psycopg.connect(database_server_url, autocommit=True) as db:
            if admin_owns_database:
                db.execute(f'ALTER DATABASE "{name}" OWNER TO "{deployment.admin}"')
            else:
                db.execute(f'GRANT CREATE ON DATABASE "{name}" TO "{deployment.admin}"')
        deployment.passwords = {service: new_password() for service in SERVICES}
        deployment.created_roles.extend(deployment.role(service) for service in SERVICES)
        return deployment

    yield make
    with psycopg.connect(database_server_url, autocommit=True) as db:
        for deployment in made:
            if deployment.database_url:
                database.drop_database(database_server_url, deployment.database_url)
            for role in deployment.created_roles:
                db.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def deployment(make_deployment: Callable[..., Deployment]) -> Deployment:
    """Migrated and with its roles set up, as after a first `helm install`."""
    deployment = make_deployment()
    deployment.set_up()
    return deployment


def connect_as(deployment: Deployment, service: str) -> psycopg.Connection:
    return psycopg.connect(deployment.service_url(service), autocommit=True)


def tables_of(deployment: Deployment, schema: str) -> list[str]:
    return [
        name
        for (name,) in deployment.superuser(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
        )
    ]


def refused(db: psycopg.Connection, statement: str) -> str:
    """The error message of a statement that must be refused for lack of privilege."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as error:
        db.execute(statement)
    return str(error.value.diag.message_primary)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_role_reads_and_writes_every_table_of_its_own_schema(
    deployment: Deployment, service: str
) -> None:
    schema = SCHEMAS[service]
    tables = [table for table in tables_of(deployment, schema) if table != "alembic_version"]
    assert tables
    with connect_as(deployment, service) as db:
        for table in tables:
            db.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                allowed = db.execute(
                    "SELECT has_table_privilege(current_user, %s, %s)",
                    (f'"{schema}"."{table}"', privilege),
                ).fetchone()[0]
                assert allowed, (table, privilege)
            for privilege in ("TRUNCATE", "REFERENCES", "TRIGGER"):
                held = db.execute(
                    "SELECT has_table_privilege(current_user, %s, %s)",
                    (f'"{schema}"."{table}"', privilege),
                ).fetchone()[0]
                assert not held, (table, privilege)
        # The migrations' own bookkeeping is not the service's to write.
        version = f'"{schema}".alembic_version'
        assert "permission denied" in refused(db, f"SELECT * FROM {version}")
        assert "permission denied" in refused(db, f"DELETE FROM {version}")


@pytest.mark.parametrize("service", SERVICES)
def test_tables_a_later_migration_creates_are_the_service_roles_too(
    deployment: Deployment, service: str
) -> None:
    schema = SCHEMAS[service]
    # A later release's migration, run as the migrations role (default privileges apply).
    with psycopg.connect(deployment.admin_url, autocommit=True) as admin:
        admin.execute(
            f'CREATE TABLE "{schema}".later (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,'
            " note text NOT NULL)"
        )
    with connect_as(deployment, service) as db:
        row_id = db.execute(
            f"INSERT INTO \"{schema}\".later (note) VALUES ('first') RETURNING id"
        ).fetchone()[0]
        db.execute(f"UPDATE \"{schema}\".later SET note = 'changed' WHERE id = %s", (row_id,))
        assert db.execute(f'SELECT note FROM "{schema}".later').fetchall() == [("changed",)]
        db.execute(f'DELETE FROM "{schema}".later WHERE id = %s', (row_id,))
        assert db.execute(f'SELECT count(*) FROM "{schema}".later').fetchone()[0] == 0
        assert "permission denied" in refused(db, f'TRUNCATE "{schema}".later')


@pytest.mark.parametrize("service", SERVICES)
def test_another_services_schema_is_permission_denied(deployment: Deployment, service: str) -> None:
    with connect_as(deployment, service) as db:
        for other, schema in SCHEMAS.items():
            if other == service:
                continue
            for table in tables_of(deployment, schema):
                if (schema, table) == ("users", "revoked_credentials"):
                    continue
                message = refused(db, f'SELECT * FROM "{schema}"."{table}"')
                # usersvc's schema is open to every service for one table (below).
                expected = "table" if schema == "users" else "schema"
                assert (
                    message
                    == f"permission denied for {expected} {schema if expected == 'schema' else table}"
                )
                refused(db, f'DELETE FROM "{schema}"."{table}"')


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "usersvc"])
def test_every_service_may_read_the_revoked_credentials_and_nothing_else_of_users(
    deployment: Deployment, service: str
) -> None:
    with connect_as(deployment, service) as db:
        db.execute("SELECT credential, revoke_time FROM users.revoked_credentials").fetchall()
        refused(db, "DELETE FROM users.revoked_credentials")
        refused(db, "INSERT INTO users.revoked_credentials (credential) VALUES ('session:x')")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_role_can_change_no_structure_and_no_role(
    deployment: Deployment, service: str
) -> None:
    schema = SCHEMAS[service]
    table = tables_of(deployment, schema)[0]
    with connect_as(deployment, service) as db:
        assert refused(db, "CREATE ROLE intruder") == "permission denied to create role"
        assert refused(db, f"ALTER ROLE \"{deployment.admin}\" PASSWORD 'x'").startswith(
            "permission denied"
        )
        assert refused(db, "CREATE TABLE public.intruder (x int)") == (
            "permission denied for schema public"
        )
        assert refused(db, f'CREATE TABLE "{schema}".intruder (x int)') == (
            f"permission denied for schema {schema}"
        )
        assert refused(db, "CREATE TEMPORARY TABLE intruder (x int)").startswith(
            "permission denied to create temporary tables"
        )
        assert refused(db, f'DROP TABLE "{schema}"."{table}"') == f"must be owner of table {table}"
        assert refused(db, f'ALTER TABLE "{schema}"."{table}" ADD COLUMN x int') == (
            f"must be owner of table {table}"
        )
        assert refused(db, f"CREATE SCHEMA intruder_{deployment.suffix}").startswith(
            "permission denied for database"
        )


def test_other_roles_of_the_server_cannot_connect(deployment: Deployment) -> None:
    other = f"neutone_test_other_{deployment.suffix}"
    deployment.created_roles.append(other)
    deployment.superuser(f'CREATE ROLE "{other}" LOGIN')
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(url_as(deployment.database_url, other)).close()


def test_the_ledger_stays_append_only_for_billing_itself(deployment: Deployment) -> None:
    with connect_as(deployment, "billingsvc") as db:
        assert refused(db, "ALTER TABLE billing.entries DISABLE TRIGGER USER") == (
            "must be owner of table entries"
        )


async def test_the_services_own_code_runs_under_its_role(deployment: Deployment) -> None:
    """The services' real statements (store functions, the rate limiter) as their roles."""
    account_id = uuid.uuid4()
    users = Database(database.create_engine(deployment.service_url("usersvc")))
    billing = Database(database.create_engine(deployment.service_url("billingsvc")))
    songs = Database(database.create_engine(deployment.service_url("songsvc")))
    try:
        async with users.transaction() as db:
            account = await user_store.create_account(
                db, email=f"{account_id}@example.com", display_name="R", password_hash="h"
            )
            assert account is not None
            await user_store.create_session(
                db,
                account_id=account.id,
                token="t" * 32,
                expire_time=datetime.now(UTC) + timedelta(hours=1),
            )
        async with billing.transaction() as db:
            assert await billing_store.insert_account(db, account_id)
            assert await billing_store.lock_account(db, account_id) == 0
            entry = await billing_store.append_entry(
                db,
                account_id=account_id,
                kind=EntryKind.WELCOME_GRANT,
                amount=3,
                balance_after=3,
                idempotency_key=f"welcome:{account_id}",
                description="welcome",
            )
            assert entry is not None
        async with billing.connection() as db:
            assert await billing_store.balance(db, account_id) == 3
        limiter = RateLimiter(songs, song_tables.rate_limits)
        assert (await limiter.acquire("likes:someone", Limit(count=1, window_seconds=60))).allowed
        assert not (
            await limiter.acquire("likes:someone", Limit(count=1, window_seconds=60))
        ).allowed
        await limiter.reset("likes:someone")
    finally:
        for db in (users, billing, songs):
            await db.close()


def acls(deployment: Deployment) -> list[tuple[Any, ...]]:
    """Every privilege in the scratch database: schemas, relations, defaults, the database."""
    return deployment.superuser(
        "SELECT 'schema', nspname, nspacl::text FROM pg_namespace"
        " WHERE nspname = ANY(%(schemas)s) OR nspname = 'public'"
        " UNION ALL SELECT 'relation', n.nspname || '.' || c.relname, c.relacl::text"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%(schemas)s)"
        " UNION ALL SELECT 'default', d.defaclobjtype::text || ' ' || n.nspname, d.defaclacl::text"
        " FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace"
        " UNION ALL SELECT 'database', datname, datacl::text FROM pg_database"
        " WHERE datname = current_database() ORDER BY 1, 2",
        {"schemas": list(SCHEMAS.values())},
    )


def scram_verifies(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier (pg_authid.rolpassword) is of `password` (RFC 5802)."""
    method, _, rest = verifier.partition("$")
    iterations_and_salt, _, keys = rest.partition("$")
    iterations, _, salt = iterations_and_salt.partition(":")
    stored_key, _, _ = keys.partition(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return method == "SCRAM-SHA-256" and hmac.compare_digest(
        hashlib.sha256(client_key).digest(), base64.b64decode(stored_key)
    )


def stored_verifier(deployment: Deployment, service: str) -> str:
    ((verifier,),) = deployment.superuser(
        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (deployment.role(service),)
    )
    return verifier


def test_passwords_are_set_as_verifiers_and_never_printed(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    result = deployment.set_up()
    output = result.stdout + result.stderr
    for service in SERVICES:
        assert deployment.passwords[service] not in output
        assert f"{service}: role {deployment.role(service)} created" in output
        assert scram_verifies(stored_verifier(deployment, service), deployment.passwords[service])
        # Nothing more than logging in and its grants.
        ((attributes,),) = deployment.superuser(
            "SELECT (rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolinherit)::text"
            " FROM pg_roles WHERE rolname = %s",
            (deployment.role(service),),
        )
        assert attributes == "(t,f,f,f,f)"


def test_running_again_grants_the_same_and_sets_a_changed_password(
    deployment: Deployment,
) -> None:
    before = acls(deployment)
    old_password = deployment.passwords["songsvc"]
    deployment.passwords["songsvc"] = new_password()
    result = deployment.set_up()
    assert f"songsvc: role {deployment.role('songsvc')} password set" in result.stdout
    assert acls(deployment) == before
    verifier = stored_verifier(deployment, "songsvc")
    assert scram_verifies(verifier, deployment.passwords["songsvc"])
    assert not scram_verifies(verifier, old_password)
    # `roles` alone (an operator's run) is the same again.
    assert deployment.run("roles").returncode == 0
    assert acls(deployment) == before


def test_grants_a_managed_role_should_not_hold_are_taken_back(deployment: Deployment) -> None:
    """A role given another service's table, or more than rows on its own, loses it."""
    billing, users = deployment.role("billingsvc"), deployment.role("usersvc")
    with psycopg.connect(deployment.admin_url, autocommit=True) as admin:
        admin.execute(f'GRANT USAGE ON SCHEMA users TO "{billing}"')
        admin.execute(f'GRANT SELECT ON users.accounts TO "{billing}"')
        admin.execute(f'GRANT TRUNCATE ON users.sessions TO "{users}"')
        admin.execute(f'GRANT CREATE ON SCHEMA users TO "{users}"')
    with connect_as(deployment, "billingsvc") as db:
        db.execute("SELECT count(*) FROM users.accounts")
    deployment.set_up()
    with connect_as(deployment, "billingsvc") as db:
        assert refused(db, "SELECT count(*) FROM users.accounts") == (
            "permission denied for table accounts"
        )
    with connect_as(deployment, "usersvc") as db:
        refused(db, "TRUNCATE users.sessions")
        refused(db, "CREATE TABLE users.intruder (x int)")


def test_roles_a_dba_created_for_a_migrations_role_that_may_not_create_roles(
    make_deployment: Callable[..., Deployment],
) -> None:
    """A managed PostgreSQL whose migrations role has no CREATEROLE: the DBA creates the
    three roles (README), and the Job, with NEUTONE_CREATE_ROLES=false, makes the grants."""
    deployment = make_deployment(admin_can_create_roles=False)
    result = deployment.run("upgrade", "--roles")
    assert result.returncode != 0
    assert "permission denied to create role" in result.stderr
    missing = deployment.run("upgrade", "--roles", NEUTONE_CREATE_ROLES="false")
    assert missing.returncode != 0
    assert f"role {deployment.role('usersvc')} (usersvc) does not exist" in missing.stderr
    for service in SERVICES:
        deployment.superuser(
            sql.SQL("CREATE ROLE {} LOGIN NOINHERIT PASSWORD {}").format(
                sql.Identifier(deployment.role(service)), deployment.passwords[service]
            )
        )
    result = deployment.set_up(NEUTONE_CREATE_ROLES="false")
    assert "exists (password left alone)" in result.stdout
    with connect_as(deployment, "billingsvc") as db:
        db.execute("SELECT count(*) FROM billing.entries")
        assert refused(db, "SELECT count(*) FROM songs.songs") == (
            "permission denied for schema songs"
        )


def test_a_database_the_migrations_role_does_not_own(
    make_deployment: Callable[..., Deployment],
) -> None:
    """The DBA owns the database and keeps its CONNECT grants and `public` (README): the Job
    grants the schemas and says what it left."""
    deployment = make_deployment(admin_can_create_roles=False, admin_owns_database=False)
    name = sa.engine.make_url(deployment.database_url).database
    roles = [deployment.role(service) for service in SERVICES]
    for service in SERVICES:
        deployment.superuser(
            sql.SQL("CREATE ROLE {} LOGIN NOINHERIT PASSWORD {}").format(
                sql.Identifier(deployment.role(service)), deployment.passwords[service]
            )
        )
    deployment.superuser(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    deployment.superuser(
        f'GRANT CONNECT ON DATABASE "{name}" TO "{deployment.admin}", '
        + ", ".join(f'"{role}"' for role in roles)
    )
    deployment.superuser("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    result = deployment.set_up(NEUTONE_CREATE_ROLES="false")
    assert f"database {name}: not the migrations role's" in result.stdout
    assert "schema public: not the migrations role's" in result.stdout
    with connect_as(deployment, "songsvc") as db:
        db.execute("SELECT count(*) FROM songs.jobs")
        assert refused(db, "SELECT count(*) FROM users.accounts") == (
            "permission denied for table accounts"
        )
        assert refused(db, "CREATE TABLE public.intruder (x int)") == (
            "permission denied for schema public"
        )


def test_a_role_that_could_do_more_is_refused(make_deployment: Callable[..., Deployment]) -> None:
    deployment = make_deployment()
    songs = deployment.role("songsvc")
    deployment.superuser(f'CREATE ROLE "{songs}" LOGIN CREATEDB')
    result = deployment.run("upgrade", "--roles")
    assert result.returncode != 0
    assert f"role {songs} (songsvc) has CREATEDB" in result.stderr
    # Nothing was granted to anyone: the whole setup is one transaction.
    assert deployment.superuser(
        "SELECT count(*) FROM pg_roles WHERE rolname = %s", (deployment.role("usersvc"),)
    ) == [(0,)]


def test_a_service_logging_in_as_the_migrations_role_is_refused(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    env = {"NEUTONE_USERSVC_DATABASE_URL": deployment.admin_url}
    result = deployment.run("upgrade", "--roles", **env)
    assert result.returncode != 0
    assert "usersvc's database URL logs in as the migrations role" in result.stderr


def test_missing_role_urls_are_named_before_anything_is_migrated(
    make_deployment: Callable[..., Deployment],
) -> None:
    deployment = make_deployment()
    env = deployment.command_env()
    del env["NEUTONE_BILLINGSVC_DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "-m", "runtime.database", "upgrade", "--roles"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "NEUTONE_BILLINGSVC_DATABASE_URL" in result.stderr
    assert deployment.superuser(
        "SELECT count(*) FROM pg_namespace WHERE nspname = ANY(%s)", (list(SCHEMAS.values()),)
    ) == [(0,)]
