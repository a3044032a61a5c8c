"""Identity tokens: short-lived EdDSA JWTs that say who is calling.

Only usersvc mints user tokens, from a live session or API key; every process
mints service tokens for itself alone, with its own key (runtime.keys). The
callee's interceptor verifies each token against the trusted public keys, checks
that the key may speak for what the token claims, and refuses tokens minted from
a credential revoked since (runtime.revocations). No service trusts a bare user id."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from runtime.keys import TRUSTED_KEYS_FILE, InvalidKey, SigningKey, TrustedKeys, key_path
from runtime.settings import ServiceSettings

ISSUER = "neutone"
AUDIENCE = "neutone-services"
ALGORITHM = "EdDSA"
# Tokens whose signature and claims a verifier remembers having checked. A token is
# sent with many calls (the gateway's own on every bridged call, a user's for minutes),
# and checking one costs more CPU than the rest of a cheap read.
VERIFIED_TOKENS_KEPT = 10_000


class PrincipalKind(StrEnum):
    USER = "user"
    SERVICE = "service"


class CredentialKind(StrEnum):
    """What a user token was minted from."""

    SESSION = "session"
    API_KEY = "apikey"


class InvalidToken(Exception):
    """The token is malformed, forged, expired, revoked, or not a Neutone identity token."""


@dataclass(frozen=True, slots=True)
class Identity:
    kind: PrincipalKind
    # The account id for users, the service's name for services.
    subject: str
    # For users: the credential the token was minted from, "<kind>:<id>"
    # ("session:<uuid>", "apikey:<uuid>"); empty for services.
    credential: str = ""
    display_name: str = ""

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER

    @property
    def is_service(self) -> bool:
        return self.kind is PrincipalKind.SERVICE

    @property
    def credential_kind(self) -> CredentialKind | None:
        kind, _, _ = self.credential.partition(":")
        try:
            return CredentialKind(kind)
        except ValueError:
            return None

    @property
    def credential_id(self) -> str:
        return self.credential.partition(":")[2]


def credential(kind: CredentialKind, credential_id: object) -> str:
    return f"{kind.value}:{credential_id}"


@dataclass(frozen=True, slots=True)
class SignedToken:
    token: str
    expire_time: datetime


class IdentityIssuer:
    """Mints tokens with one principal's own key: service tokens for that principal
    only, and user tokens only with usersvc's key."""

    def __init__(self, key: SigningKey, *, ttl: timedelta) -> None:
        self._key = key
        self._ttl = ttl

    @property
    def principal(self) -> str:
        return self._key.principal

    @property
    def signing_key(self) -> SigningKey:
        return self._key

    def mint(self, identity: Identity, *, now: datetime | None = None) -> SignedToken:
        if identity.is_service and identity.subject != self._key.principal:
            raise ValueError(f"{self._key.principal} may not speak for {identity.subject}")
        if identity.is_user and not self._key.signs_users:
            raise ValueError(f"{self._key.principal} may not mint user tokens")
        issued = now or datetime.now(UTC)
        expires = issued + self._ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": identity.subject,
            "kind": identity.kind.value,
            "cred": identity.credential,
            "name": identity.display_name,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
        }
        token = jwt.encode(
            claims, self._key.private_key, algorithm=ALGORITHM, headers={"kid": self._key.kid}
        )
        return SignedToken(token, expires)

    def service_identity(self) -> Identity:
        return Identity(kind=PrincipalKind.SERVICE, subject=self._key.principal)


class IdentityVerifier:
    """Checks tokens against the trusted keys and the revoked credentials.

    A token that passed is remembered, by its exact text, until its `exp`: the same
    text cannot carry other claims, and the trusted keys do not change in a verifier's
    lifetime. Revocation is looked up on every call, remembered token or not."""

    def __init__(
        self,
        trusted: TrustedKeys,
        *,
        revoked: Callable[[str], bool] = lambda credential: False,
        keep: int = VERIFIED_TOKENS_KEPT,
    ) -> None:
        self._trusted = trusted
        self._revoked = revoked
        self._keep = keep
        # Token -> (its identity, its exp claim); oldest first.
        self._verified: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str) -> Identity:
        remembered = self._verified.get(token)
        # PyJWT's own rule: a token is expired from its exp second on.
        if remembered is None or time.time() >= remembered[1]:
            self._verified.pop(token, None)
            remembered = self._check(token)
            self._remember(token, remembered)
        identity = remembered[0]
        if identity.is_user and self._revoked(identity.credential):
            raise InvalidToken("the credential this token was minted from was revoked")
        return identity

    def _check(self, token: str) -> tuple[Identity, float]:
        """The identity a token carries, and its exp, once signature and claims hold."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._trusted.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidToken("the token's key is not trusted")
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            identity = Identity(
                kind=PrincipalKind(claims["kind"]),
                subject=claims["sub"],
                credential=claims.get("cred", ""),
                display_name=claims.get("name", ""),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error
        if identity.is_service and identity.subject != key.principal:
            raise InvalidToken(f"{key.principal}'s key may not speak for {identity.subject}")
        if identity.is_user:
            if not key.signs_users:
                raise InvalidToken(f"{key.principal}'s key may not sign user tokens")
            if identity.credential_kind is None:
                raise InvalidToken("a user token must name its credential")
        return identity, float(claims["exp"])

    def _remember(self, token: str, verified: tuple[Identity, float]) -> None:
        if len(self._verified) >= self._keep:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = verified


def load_issuer(settings: ServiceSettings, principal: str) -> IdentityIssuer:
    """The issuer of `principal`'s own tokens, from its key in the keys directory."""
    try:
        key = SigningKey.load(key_path(settings.identity_keys_dir, principal), principal)
    except InvalidKey as error:
        raise SystemExit(f"invalid settings: NEUTONE_KEYS_DIR: {error}") from None
    return IdentityIssuer(key, ttl=timedelta(seconds=settings.identity_token_ttl_seconds))


def load_trusted_keys(settings: ServiceSettings) -> TrustedKeys:
    try:
        return TrustedKeys.load(settings.identity_keys_dir / TRUSTED_KEYS_FILE)
    except InvalidKey as error:
        raise SystemExit(f"invalid settings: NEUTONE_KEYS_DIR: {error}") from None
