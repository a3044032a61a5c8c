"""Identity keys: each process's own Ed25519 key pair, and the public keys that
every process trusts.

Each principal (usersvc, billingsvc, songsvc, songsvc-worker, gateway) holds only
its own private key, `<principal>.pem`, and signs its own service identity tokens
with it; only usersvc's key may also sign user identity tokens. The public half
of every key is in `trusted-keys.json`, a JWKS (RFC 7517) in which each key names
its principal (`neutone_principal`) and whether it may sign users
(`neutone_signs_users`). A verifier accepts a service token only when its key
belongs to the principal the token names, and a user token only from a key that
may sign users, so no credential outside usersvc can make a user.

A key's id (`kid`) is its RFC 7638 thumbprint. Rotation, without a moment when
tokens are refused:

    python -m runtime.keys generate --out DIR                 # every principal's key and the trust file
    python -m runtime.keys rotate --dir DIR PRINCIPAL         # a new key beside the old one, both trusted
    # roll out trusted-keys.json everywhere, then the principal's new PEM; then, once
    # tokens signed with the old key have expired (NEUTONE_IDENTITY_TOKEN_TTL_SECONDS):
    python -m runtime.keys retire --dir DIR KID               # the old key is trusted no more
"""

import argparse
import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRINCIPALS = ("usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway")
# The one principal whose key may sign user identity tokens.
USER_SIGNER = "usersvc"
TRUSTED_KEYS_FILE = "trusted-keys.json"
PRINCIPAL_MEMBER = "neutone_principal"
SIGNS_USERS_MEMBER = "neutone_signs_users"


class InvalidKey(Exception):
    """A key file is missing, malformed, or not what it claims to be."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(public_key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint: its id wherever it is used."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(_raw(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64(hashlib.sha256(canonical).digest())


@dataclass(frozen=True, slots=True)
class TrustedKey:
    kid: str
    principal: str
    signs_users: bool
    public_key: Ed25519PublicKey

    def to_jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(_raw(self.public_key)),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
            PRINCIPAL_MEMBER: self.principal,
            SIGNS_USERS_MEMBER: self.signs_users,
        }

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> "TrustedKey":
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise InvalidKey(f"key {jwk.get('kid')!r} is not an Ed25519 (OKP) key")
        principal = jwk.get(PRINCIPAL_MEMBER)
        signs_users = jwk.get(SIGNS_USERS_MEMBER, False)
        if not isinstance(principal, str) or not principal or not isinstance(signs_users, bool):
            raise InvalidKey(f"key {jwk.get('kid')!r} must name its {PRINCIPAL_MEMBER}")
        try:
            public_key = Ed25519PublicKey.from_public_bytes(_unb64(str(jwk.get("x", ""))))
        except ValueError as error:
            raise InvalidKey(f"key {jwk.get('kid')!r} has no valid public key") from error
        kid = kid_of(public_key)
        if jwk.get("kid") != kid:
            raise InvalidKey(f"key {jwk.get('kid')!r}: its kid must be its thumbprint {kid}")
        return cls(kid=kid, principal=principal, signs_users=signs_users, public_key=public_key)


class TrustedKeys:
    """The public keys a process accepts tokens from, by kid."""

    def __init__(self, keys: Iterable[TrustedKey]) -> None:
        self._by_kid = {key.kid: key for key in keys}

    def get(self, kid: str) -> TrustedKey | None:
        return self._by_kid.get(kid)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._by_kid.values())

    def to_jwks(self) -> dict[str, Any]:
        return {"keys": [key.to_jwk() for key in self._by_kid.values()]}

    @classmethod
    def load(cls, path: Path) -> "TrustedKeys":
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise InvalidKey(f"cannot read the trusted keys {path}: {error.strerror}") from error
        except ValueError as error:
            raise InvalidKey(f"the trusted keys {path} are not JSON") from error
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise InvalidKey(f"the trusted keys {path} must be a JWKS: {{'keys': [...]}}")
        return cls(TrustedKey.from_jwk(jwk) for jwk in document["keys"])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_jwks(), indent=2) + "\n")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A principal's own private key, with which it signs its tokens."""

    principal: str
    private_key: Ed25519PrivateKey

    @property
    def kid(self) -> str:
        return kid_of(self.private_key.public_key())

    @property
    def signs_users(self) -> bool:
        return self.principal == USER_SIGNER

    def trusted(self) -> TrustedKey:
        return TrustedKey(
            kid=self.kid,
            principal=self.principal,
            signs_users=self.signs_users,
            public_key=self.private_key.public_key(),
        )

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def generate(cls, principal: str) -> "SigningKey":
        return cls(principal, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path, principal: str) -> "SigningKey":
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as error:
            raise InvalidKey(f"cannot read {principal}'s key {path}: {error.strerror}") from error
        except ValueError as error:
            raise InvalidKey(f"{path} is not a PEM private key") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidKey(f"{path} is not an Ed25519 key")
        return cls(principal, key)

    def save(self, path: Path) -> None:
        path.touch(mode=0o600)
        path.write_bytes(self.pem())


def key_path(directory: Path, principal: str) -> Path:
    return directory / f"{principal}.pem"


def generate(directory: Path, principals: Iterable[str] = PRINCIPALS) -> TrustedKeys:
    """A new key for each principal (kept where one exists) and the trust file."""
    directory.mkdir(parents=True, exist_ok=True)
    trust_path = directory / TRUSTED_KEYS_FILE
    trusted = {key.kid: key for key in TrustedKeys.load(trust_path)} if trust_path.exists() else {}
    for principal in principals:
        path = key_path(directory, principal)
        key = SigningKey.load(path, principal) if path.exists() else SigningKey.generate(principal)
        if not path.exists():
            key.save(path)
        trusted[key.kid] = key.trusted()
    keys = TrustedKeys(trusted.values())
    keys.save(trust_path)
    return keys


def rotate(directory: Path, principal: str) -> SigningKey:
    """Writes the principal's new key beside its trust file entry; the old key
    stays trusted (its PEM is kept as `<principal>.pem.old`) until retired."""
    path = key_path(directory, principal)
    if path.exists():
        path.replace(path.with_suffix(".pem.old"))
    key = SigningKey.generate(principal)
    key.save(path)
    trust_path = directory / TRUSTED_KEYS_FILE
    TrustedKeys([*TrustedKeys.load(trust_path), key.trusted()]).save(trust_path)
    return key


def retire(directory: Path, kid: str) -> None:
    trust_path = directory / TRUSTED_KEYS_FILE
    kept = [key for key in TrustedKeys.load(trust_path) if key.kid != kid]
    TrustedKeys(kept).save(trust_path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Make and rotate Neutone's identity keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("generate", help="every principal's key and the trust file")
    made.add_argument("--out", type=Path, required=True)
    made.add_argument("--principal", action="append", help=f"default: {', '.join(PRINCIPALS)}")
    rotated = commands.add_parser("rotate", help="a new key for one principal")
    rotated.add_argument("--dir", type=Path, required=True)
    rotated.add_argument("principal")
    retired = commands.add_parser("retire", help="stop trusting one key")
    retired.add_argument("--dir", type=Path, required=True)
    retired.add_argument("kid")
    args = parser.parse_args()
    if args.command == "generate":
        keys = generate(args.out, args.principal or PRINCIPALS)
        for key in keys:
            print(f"{key.principal:16} {key.kid}")
    elif args.command == "rotate":
        print(f"{args.principal}: new key {rotate(args.dir, args.principal).kid}")
    else:
        retire(args.dir, args.kid)


if __name__ == "__main__":
    main()
