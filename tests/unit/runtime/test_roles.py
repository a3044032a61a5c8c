"""Reading the service roles from the services' database URLs (runtime/roles.py)."""

import pytest
from pydantic import SecretStr

from billingsvc.tables import metadata as billing_metadata
from runtime.roles import SCHEMAS, RoleSetupError, service_roles
from songsvc.tables import metadata as song_metadata
from usersvc.tables import metadata as user_metadata

PASSWORD = "a-password-of-24-chars!!"


def urls(**overrides: str) -> dict[str, SecretStr]:
    plain = {
        service: f"postgresql://neutone_{service}:{PASSWORD}@db.internal:5432/neutone"
        for service in SCHEMAS
    }
    return {service: SecretStr(url) for service, url in (plain | overrides).items()}


def test_each_schema_is_the_one_its_service_migrates() -> None:
    migrated = {
        "usersvc": user_metadata.schema,
        "billingsvc": billing_metadata.schema,
        "songsvc": song_metadata.schema,
    }
    assert migrated == SCHEMAS


def test_roles_come_from_the_urls_user_and_password() -> None:
    encoded = "postgresql://neutone_songs:p%40ss%2Fword-long-enough@db/neutone"
    roles = service_roles(urls(songsvc=encoded), need_passwords=True)
    assert [(role.service, role.schema, role.name) for role in roles] == [
        ("usersvc", "users", "neutone_usersvc"),
        ("billingsvc", "billing", "neutone_billingsvc"),
        ("songsvc", "songs", "neutone_songs"),
    ]
    assert roles[2].password is not None
    assert roles[2].password.get_secret_value() == "p@ss/word-long-enough"
    assert PASSWORD not in repr(roles)


def test_without_creating_roles_no_password_is_needed() -> None:
    roles = service_roles(
        urls(billingsvc="postgresql://neutone_billingsvc@db/neutone"), need_passwords=False
    )
    assert [role.password for role in roles] == [None, None, None]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"billingsvc": f"postgresql://neutone_usersvc:{PASSWORD}@db/neutone"},
            "each service needs a role of its own",
        ),
        ({"songsvc": f"postgresql://:{PASSWORD}@db/neutone"}, "NEUTONE_SONGSVC_DATABASE_URL"),
        (
            {"usersvc": "postgresql://neutone_usersvc:short@db/neutone"},
            "NEUTONE_USERSVC_DATABASE_URL: the role's password must be at least 16 characters",
        ),
        (
            {"usersvc": f"postgresql://{'r' * 64}:{PASSWORD}@db/neutone"},
            "role names are 63 bytes at most",
        ),
        (
            {"usersvc": f"not a url {PASSWORD}"},
            "NEUTONE_USERSVC_DATABASE_URL is not a database URL",
        ),
    ],
)
def test_bad_urls_are_refused_by_name_without_their_password(
    overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(RoleSetupError) as error:
        service_roles(urls(**overrides), need_passwords=True)
    assert message in str(error.value)
    assert PASSWORD not in str(error.value)
