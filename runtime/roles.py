"""Per-service PostgreSQL roles: each service logs in as a role of its own, which reads and
writes the rows of its own schema and nothing else.

`python -m runtime.database roles` (and `upgrade --roles`, what the chart's Job runs)
connects with the migrations URL (NEUTONE_DATABASE_URL: the role that runs the migrations
and so owns the tables) and takes each service's role name and password from that service's
own database URL (NEUTONE_<SERVICE>_DATABASE_URL, the URL its pods get), so a role can never
drift from what its service logs in with. songsvc's role also serves the worker.

Migrations run as the owner; a service's role holds SELECT, INSERT, UPDATE and DELETE on its
schema's tables and USAGE on its sequences, on what exists now and, through default
privileges, on what later migrations create. It cannot create, alter, drop or truncate
tables (nor switch off billing's append-only trigger), touch another service's schema or
`public`, or write the Alembic version table (hence the command runs after the migrations:
`upgrade --roles`). Running the command again makes exactly these
grants again, so it is idempotent and undoes drift among the roles it manages; grants a DBA
made to other roles are left alone.

Passwords go to the server as SCRAM verifiers made on the client (as psql's \\password
does), so they appear neither in this command's output nor in the server's statement log."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa
from psycopg import sql
from pydantic import SecretStr

from runtime.settings import DatabaseSettings

# The schema each service's migrations keep its tables in (its tables.py metadata).
SCHEMAS = {"usersvc": "users", "billingsvc": "billing", "songsvc": "songs"}
# What a service's role may do with its own schema's tables and sequences.
TABLE_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
SEQUENCE_PRIVILEGES = sql.SQL("USAGE, SELECT")
# The version table Alembic keeps in each schema: the migrations' business only.
# The one thing a service may read outside its own schema: the credentials usersvc
# revoked lately, which every service polls to refuse their tokens (runtime.revocations).
SHARED_READS = {"users": ("revoked_credentials",)}
VERSION_TABLE = "alembic_version"
# PostgreSQL truncates longer identifiers, which would name another role than the URL's.
MAX_ROLE_NAME_BYTES = 63
MIN_PASSWORD_CHARACTERS = 16
# Role attributes a service's role must not have: any of them is more than its schema.
FORBIDDEN_ATTRIBUTES = {
    "rolsuper": "SUPERUSER",
    "rolcreaterole": "CREATEROLE",
    "rolcreatedb": "CREATEDB",
    "rolreplication": "REPLICATION",
    "rolbypassrls": "BYPASSRLS",
}
# Two Jobs (or an operator and a Job) granting at once would fail on concurrent updates.
LOCK = sql.SQL("SELECT pg_advisory_xact_lock(hashtextextended('neutone service roles', 0))")


class RoleSetupError(Exception):
    """The roles could not be set up; the message names what to fix (never a password)."""


class RoleSettings(DatabaseSettings):
    """What the roles command reads: NEUTONE_DATABASE_URL (the migrations role) and these."""

    # Each service's own database URL, exactly as its pods get it: its user is the
    # service's role, its password the role's password. songsvc's also serves the worker.
    usersvc_database_url: SecretStr
    billingsvc_database_url: SecretStr
    songsvc_database_url: SecretStr
    # False where the migrations role may not create roles: a DBA created them (README,
    # "Kubernetes"); they must exist, their passwords are left alone, only grants are made.
    create_roles: bool = True

    def service_urls(self) -> dict[str, SecretStr]:
        return {service: getattr(self, f"{service}_database_url") for service in SCHEMAS}


@dataclass(frozen=True, kw_only=True)
class ServiceRole:
    service: str
    schema: str
    name: str
    password: SecretStr | None


def service_roles(urls: Mapping[str, SecretStr], *, need_passwords: bool) -> list[ServiceRole]:
    """Each service's role from its database URL, checked: one role per service."""
    roles = []
    for service, schema in SCHEMAS.items():
        setting = f"NEUTONE_{service.upper()}_DATABASE_URL"
        try:
            url = sa.engine.make_url(urls[service].get_secret_value())
        except sa.exc.ArgumentError:
            # SQLAlchemy's message quotes the whole URL, password included.
            raise RoleSetupError(f"{setting} is not a database URL") from None
        if not url.username:
            raise RoleSetupError(f"{setting} names no user (the service's role)")
        if len(url.username.encode()) > MAX_ROLE_NAME_BYTES:
            raise RoleSetupError(f"{setting}: role names are {MAX_ROLE_NAME_BYTES} bytes at most")
        password = url.password
        if need_passwords and len(password or "") < MIN_PASSWORD_CHARACTERS:
            raise RoleSetupError(
                f"{setting}: the role's password must be at least {MIN_PASSWORD_CHARACTERS}"
                " characters (e.g. `openssl rand -hex 24`)"
            )
        roles.append(
            ServiceRole(
                service=service,
                schema=schema,
                name=url.username,
                password=SecretStr(str(password)) if need_passwords else None,
            )
        )
    names = [role.name for role in roles]
    if len(set(names)) != len(names):
        raise RoleSetupError(
            "each service needs a role of its own; the database URLs name "
            + ", ".join(f"{role.service}: {role.name}" for role in roles)
        )
    return roles


def set_up_roles(
    admin_url: str,
    roles: list[ServiceRole],
    *,
    create_roles: bool,
    report: Callable[[str], None] = print,
) -> None:
    """Creates or updates the roles and makes exactly their grants, in one transaction."""
    try:
        with psycopg.connect(admin_url) as connection:
            # PostgreSQL says so when a grant or revoke it was asked for did nothing
            # (e.g. the migrations role does not own the database): the operator should see it.
            connection.add_notice_handler(
                lambda notice: report(f"{notice.severity}: {notice.message_primary}")
            )
            connection.execute(LOCK)
            owner, database = connection.execute(
                "SELECT current_user, current_database()"
            ).fetchone()
            for role in roles:
                if role.name == owner:
                    raise RoleSetupError(
                        f"{role.service}'s database URL logs in as the migrations role {owner}:"
                        " give the service a role of its own"
                    )
                # An existing role is checked before it is touched: PostgreSQL 16 does not let
                # a CREATEROLE owner alter a role holding more than it does.
                if _role_exists(connection, role.name):
                    _check_role_holds_nothing_more(connection, role)
                outcome = _ensure_role(connection, role, create=create_roles)
                _check_role_holds_nothing_more(connection, role)
                report(f"{role.service}: role {role.name} {outcome}; schema {role.schema} only")
            _close_database(connection, database, roles, report)
            for schema in SCHEMAS.values():
                _grant_schema(connection, schema, roles)
    except RoleSetupError as error:
        raise RoleSetupError(f"{error} (nothing was changed)") from None
    except psycopg.Error as error:
        # The server's message names the object and the privilege; statements are not
        # quoted in it, and passwords only ever travel as verifiers.
        message = error.diag.message_primary or str(error)
        raise RoleSetupError(
            f"setting up the service roles failed, nothing was changed: {message}"
        ) from None


def _role_exists(connection: psycopg.Connection, name: str) -> bool:
    row = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    return row is not None


def _ensure_role(connection: psycopg.Connection, role: ServiceRole, *, create: bool) -> str:
    exists = _role_exists(connection, role.name)
    if not create:
        if not exists:
            raise RoleSetupError(
                f"role {role.name} ({role.service}) does not exist: create it first"
                " (NEUTONE_CREATE_ROLES is false)"
            )
        return "exists (password left alone)"
    if role.password is None:
        raise ValueError("creating roles needs their passwords")
    verifier = connection.pgconn.encrypt_password(
        role.password.get_secret_value().encode(), role.name.encode()
    )
    statement = (
        "ALTER ROLE {} WITH LOGIN PASSWORD {}"
        if exists
        else "CREATE ROLE {} WITH LOGIN NOINHERIT PASSWORD {}"
    )
    connection.execute(
        sql.SQL(statement).format(sql.Identifier(role.name), sql.Literal(verifier.decode()))
    )
    return "password set" if exists else "created"


def _check_role_holds_nothing_more(connection: psycopg.Connection, role: ServiceRole) -> None:
    columns = sql.SQL(", ").join(map(sql.Identifier, FORBIDDEN_ATTRIBUTES))
    row = connection.execute(
        sql.SQL("SELECT rolcanlogin, {} FROM pg_roles WHERE rolname = %s").format(columns),
        (role.name,),
    ).fetchone()
    can_login, *attributes = row
    held = [name for name, on in zip(FORBIDDEN_ATTRIBUTES.values(), attributes, strict=True) if on]
    if held or not can_login:
        problem = f"has {', '.join(held)}" if held else "cannot log in (NOLOGIN)"
        raise RoleSetupError(
            f"role {role.name} ({role.service}) {problem}: a service's role may hold its"
            " schema's rows and nothing more; fix the role (ALTER ROLE) and run again"
        )
    memberships = connection.execute(
        "SELECT granted.rolname FROM pg_auth_members m"
        " JOIN pg_roles granted ON granted.oid = m.roleid"
        " JOIN pg_roles member ON member.oid = m.member"
        " WHERE member.rolname = %s ORDER BY 1",
        (role.name,),
    ).fetchall()
    if memberships:
        raise RoleSetupError(
            f"role {role.name} ({role.service}) is a member of"
            f" {', '.join(name for (name,) in memberships)}: a service's role must hold"
            " its own privileges only (REVOKE the memberships and run again)"
        )


def _close_database(
    connection: psycopg.Connection,
    database: str,
    roles: list[ServiceRole],
    report: Callable[[str], None],
) -> None:
    """Only the service roles (and the owner) may connect, and nobody may use `public`.
    Only the owner may say so: where that is not the migrations role, it is the DBA's part
    (README.md, "A managed PostgreSQL"), and the command says it left it."""
    (owns_database,) = connection.execute(
        "SELECT pg_has_role(datdba, 'USAGE') FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    if owns_database:
        name = sql.Identifier(database)
        connection.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
        for role in roles:
            grantee = sql.Identifier(role.name)
            connection.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(name, grantee))
            connection.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(name, grantee))
    else:
        report(f"database {database}: not the migrations role's; its CONNECT grants are the DBA's")
    public = connection.execute(
        "SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace WHERE nspname = 'public'"
    ).fetchone()
    if public is None:
        return
    if public[0]:
        connection.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    else:
        report("schema public: not the migrations role's; closing it is the DBA's")


def _grant_schema(connection: psycopg.Connection, schema: str, roles: list[ServiceRole]) -> None:
    """Exactly the service's own role may use `schema`: every managed role's grants there
    are taken away, then its own role's are made again."""
    exists = connection.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
    ).fetchone()
    if exists is None:
        # Before the first migration; the migrations create their tables in it.
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    name = sql.Identifier(schema)
    connection.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(name))
    for role in roles:
        grantee = sql.Identifier(role.name)
        for statement in (
            "REVOKE ALL ON SCHEMA {schema} FROM {role}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role}",
        ):
            connection.execute(sql.SQL(statement).format(schema=name, role=grantee))
        if role.schema != schema:
            continue
        for statement in (
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT {tables} ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            # Tables and sequences later migrations create (as this same role).
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {tables} ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {role}",
        ):
            connection.execute(
                sql.SQL(statement).format(
                    schema=name,
                    role=grantee,
                    tables=TABLE_PRIVILEGES,
                    sequences=SEQUENCE_PRIVILEGES,
                )
            )
        version_table = connection.execute(
            "SELECT to_regclass(%s)", (f'"{schema}".{VERSION_TABLE}',)
        ).fetchone()[0]
        if version_table is not None:
            connection.execute(
                sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(
                    sql.Identifier(schema, VERSION_TABLE), grantee
                )
            )

    for table in SHARED_READS.get(schema, ()):
        if connection.execute("SELECT to_regclass(%s)", (f'"{schema}".{table}',)).fetchone()[0]:
            for role in roles:
                if role.schema == schema:
                    continue
                grantee = sql.Identifier(role.name)
                connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, grantee))
                connection.execute(
                    sql.SQL("GRANT SELECT ON TABLE {} TO {}").format(
                        sql.Identifier(schema, table), grantee
                    )
                )
