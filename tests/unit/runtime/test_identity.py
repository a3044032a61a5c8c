"""Identity tokens and keys: who may mint what, and what a verifier refuses."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from runtime import identity as identity_module
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


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature and claims are checked (jwt.decode), in order."""
    checked: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: object, **kwargs: object) -> object:
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    return checked


def test_a_verified_token_is_remembered_until_it_expires(
    keyring: Path, decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = issuer(keyring, "usersvc").mint(ADA)
    check = verifier(keyring)
    assert check.verify(signed.token) == check.verify(signed.token) == ADA
    assert decodes == [signed.token]
    # From its exp second on (PyJWT's rule) it is checked again, which refuses an
    # expired token (above); PyJWT's own clock still says it is valid here.
    expires = int(signed.expire_time.timestamp())
    monkeypatch.setattr(identity_module.time, "time", lambda: expires - 0.001)
    check.verify(signed.token)
    assert decodes == [signed.token]
    monkeypatch.setattr(identity_module.time, "time", lambda: expires)
    assert check.verify(signed.token) == ADA
    assert decodes == [signed.token, signed.token]


def test_a_remembered_token_is_refused_once_its_credential_is_revoked(keyring: Path) -> None:
    token = issuer(keyring, "usersvc").mint(ADA).token
    revoked = {"session:another"}
    check = verifier(keyring, revoked)
    assert check.verify(token) == ADA
    revoked.add(ADA.credential)
    with pytest.raises(InvalidToken, match="revoked"):
        check.verify(token)


def test_refused_tokens_are_not_remembered(keyring: Path, decodes: list[str]) -> None:
    usersvc = issuer(keyring, "usersvc")
    header, payload, signature = usersvc.mint(ADA).token.split(".")
    tampered = f"{header}.{payload[:-2]}xx.{signature}"
    check = verifier(keyring)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            check.verify(tampered)
    assert decodes == [tampered, tampered]


def test_the_verifier_remembers_a_bounded_number_of_tokens(
    keyring: Path, decodes: list[str]
) -> None:
    usersvc = issuer(keyring, "usersvc")
    first, second, third = (
        usersvc.mint(Identity(kind=PrincipalKind.USER, subject=name, credential="session:s")).token
        for name in ("a", "b", "c")
    )
    check = IdentityVerifier(TrustedKeys.load(keyring / keys.TRUSTED_KEYS_FILE), keep=2)
    for token in (first, second, third, third, second, first):
        check.verify(token)
    # The oldest went when the third came, and came back in place of the next oldest.
    assert decodes == [first, second, third, first]
