"""Identity tokens and keys: who may mint what, and what a verifier refuses."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from runtime import keys
from runtime.identity import (
    Identity,
    IdentityIssuer,
    IdentityVerifier,
    InvalidToken,
    PrincipalKind,
)
from runtime.keys import InvalidKey, SigningKey, TrustedKeys

TTL = timedelta(minutes=5)
ADA = Identity(kind=PrincipalKind.USER, subject="ada", credential="session:s1", display_name="Ada")


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    keys.generate(tmp_path)
    return tmp_path


def issuer(keyring: Path, principal: str) -> IdentityIssuer:
    return IdentityIssuer(SigningKey.load(keys.key_path(keyring, principal), principal), ttl=TTL)


def verifier(keyring: Path, revoked: set[str] | None = None) -> IdentityVerifier:
    trusted = TrustedKeys.load(keyring / keys.TRUSTED_KEYS_FILE)
    return IdentityVerifier(trusted, revoked=(revoked or set()).__contains__)


def test_usersvc_mints_users_and_every_service_itself(keyring: Path) -> None:
    signed = issuer(keyring, "usersvc").mint(ADA)
    assert verifier(keyring).verify(signed.token) == ADA
    assert TTL - timedelta(minutes=1) < signed.expire_time - datetime.now(UTC) <= TTL
    for principal in keys.PRINCIPALS:
        own = issuer(keyring, principal)
        assert verifier(keyring).verify(own.mint(own.service_identity()).token).subject == principal


@pytest.mark.parametrize("principal", [p for p in keys.PRINCIPALS if p != "usersvc"])
def test_no_other_key_can_make_a_user(keyring: Path, principal: str) -> None:
    with pytest.raises(ValueError, match="may not mint user tokens"):
        issuer(keyring, principal).mint(ADA)
    # Nor by hand, with that key's signature: the verifier knows whose key it is.
    key = SigningKey.load(keys.key_path(keyring, principal), principal)
    now = int(datetime.now(UTC).timestamp())
    forged = jwt.encode(
        {
            "iss": "neutone",
            "aud": "neutone-services",
            "sub": "ada",
            "kind": "user",
            "cred": "session:s1",
            "iat": now,
            "exp": now + 60,
        },
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    with pytest.raises(InvalidToken, match="may not sign user tokens"):
        verifier(keyring).verify(forged)


def test_a_service_key_speaks_only_for_its_own_service(keyring: Path) -> None:
    songsvc = issuer(keyring, "songsvc")
    with pytest.raises(ValueError, match="may not speak for"):
        songsvc.mint(Identity(kind=PrincipalKind.SERVICE, subject="gateway"))


def test_expired_untrusted_tampered_and_revoked_tokens_are_refused(keyring: Path) -> None:
    usersvc = issuer(keyring, "usersvc")
    expired = usersvc.mint(ADA, now=datetime.now(UTC) - timedelta(minutes=6)).token
    stranger = IdentityIssuer(SigningKey.generate("usersvc"), ttl=TTL).mint(ADA).token
    header, payload, signature = usersvc.mint(ADA).token.split(".")
    tampered = f"{header}.{payload[:-2]}xx.{signature}"
    for token in (expired, stranger, tampered, "not.a.token", ""):
        with pytest.raises(InvalidToken):
            verifier(keyring).verify(token)
    with pytest.raises(InvalidToken, match="revoked"):
        verifier(keyring, revoked={"session:s1"}).verify(usersvc.mint(ADA).token)


def test_a_user_token_must_name_its_credential(keyring: Path) -> None:
    bare = issuer(keyring, "usersvc").mint(Identity(kind=PrincipalKind.USER, subject="ada"))
    with pytest.raises(InvalidToken, match="credential"):
        verifier(keyring).verify(bare.token)


def test_rotation_keeps_old_tokens_until_the_old_key_is_retired(keyring: Path) -> None:
    before = issuer(keyring, "usersvc").mint(ADA).token
    old_kid = SigningKey.load(keys.key_path(keyring, "usersvc"), "usersvc").kid
    keys.rotate(keyring, "usersvc")
    after = issuer(keyring, "usersvc").mint(ADA).token
    assert verifier(keyring).verify(before) == verifier(keyring).verify(after) == ADA
    keys.retire(keyring, old_kid)
    with pytest.raises(InvalidToken):
        verifier(keyring).verify(before)
    assert verifier(keyring).verify(after) == ADA


def test_a_trust_file_entry_whose_kid_is_not_its_thumbprint_is_refused(keyring: Path) -> None:
    path = keyring / keys.TRUSTED_KEYS_FILE
    document = json.loads(path.read_text())
    document["keys"][0]["kid"] = "chosen-by-an-attacker"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidKey, match="thumbprint"):
        TrustedKeys.load(path)


def test_generate_keeps_existing_keys(keyring: Path) -> None:
    before = {key.kid for key in TrustedKeys.load(keyring / keys.TRUSTED_KEYS_FILE)}
    keys.generate(keyring)
    assert {key.kid for key in TrustedKeys.load(keyring / keys.TRUSTED_KEYS_FILE)} == before
