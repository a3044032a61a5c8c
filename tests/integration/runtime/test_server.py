"""The shared server bootstrap, seen from outside a running service."""

import signal
import time
import uuid

import grpc
import psycopg
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from neutone.v1 import user_service_pb2, user_service_pb2_grpc
from runtime import database
from runtime.launcher import Stack, free_address
from tests.integration.helpers import field_violations


def test_reflection_lists_the_services(users_channel: grpc.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(users_channel)
    replies = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    services = {service.name for service in next(replies).list_services_response.service}
    assert services == {
        "neutone.v1.UserService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_reflection_describes_methods(users_channel: grpc.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(users_channel)
    replies = reflection.ServerReflectionInfo(
        iter(
            [
                reflection_pb2.ServerReflectionRequest(
                    file_containing_symbol="neutone.v1.UserService"
                )
            ]
        )
    )
    files = next(replies).file_descriptor_response.file_descriptor_proto
    described = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in files]
    methods = {
        method.name
        for file in described
        for service in file.service
        if service.name == "UserService"
        for method in service.method
    }
    assert {"SignUp", "SignIn", "SignOut", "GetCurrentUser", "AuthenticateSession"} <= methods


def test_health_reports_each_service(users_channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(users_channel)
    for name in ("", "neutone.v1.UserService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_unknown_methods_are_unimplemented(users_channel: grpc.Channel) -> None:
    call = users_channel.unary_unary("/neutone.v1.UserService/DropTables")
    with pytest.raises(grpc.RpcError) as missing:
        call(b"")
    assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_malformed_request_bytes_are_refused(users_channel: grpc.Channel) -> None:
    call = users_channel.unary_unary("/neutone.v1.UserService/SignIn")
    with pytest.raises(grpc.RpcError) as malformed:
        call(b"\xff\xff\xff\xff")
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(malformed.value) == {
        "request": "is not a valid neutone.v1.SignInRequest message"
    }


def test_sigterm_drains_and_exits_cleanly(stack: Stack) -> None:
    # Costly password hashing keeps the sign-up in flight while SIGTERM arrives.
    own = Stack(
        {
            **stack.env,
            "NEUTONE_USERSVC_ADDRESS": free_address(),
            "NEUTONE_PASSWORD_TIME_COST": "12",
            "NEUTONE_PASSWORD_MEMORY_KIB": "65536",
            "NEUTONE_SHUTDOWN_GRACE_SECONDS": "10",
        }
    )
    own.start("usersvc")
    with grpc.insecure_channel(own.address("usersvc")) as channel:
        users = user_service_pb2_grpc.UserServiceStub(channel)
        email = f"drain-{uuid.uuid4().hex[:8]}@example.com"
        pending = users.SignUp.future(
            user_service_pb2.SignUpRequest(email=email, password="password-123", display_name="D")
        )
        time.sleep(0.2)
        exit_code = own.stop("usersvc", sig=signal.SIGTERM)
        # The call in flight when SIGTERM arrived still completed.
        assert pending.result(timeout=10) == user_service_pb2.SignUpResponse()
    assert exit_code == 0


def test_migrations_upgrade_a_fresh_database_and_downgrade_cleanly(
    database_server_url: str,
) -> None:
    url = database.create_scratch_database(database_server_url, prefix="neutone_migrations")
    try:
        database.upgrade(url)
        assert _tables(url) >= {"users.accounts", "users.sessions", "users.sign_in_failures"}
        database.downgrade(url)
        assert _tables(url) == {f"{schema}.alembic_version" for schema in _schemas(url)}
        database.upgrade(url)  # and back up again from the downgraded state
        assert "users.accounts" in _tables(url)
    finally:
        database.drop_database(database_server_url, url)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'public')"
        ).fetchall()
    return {row[0] for row in rows}


def _schemas(url: str) -> set[str]:
    return {table.split(".")[0] for table in _tables(url)}
