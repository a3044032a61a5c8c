"""Identity tokens: short-lived JWTs that say who is calling.

usersvc mints user tokens when it authenticates a session; every service mints a
service token for its own outgoing internal calls. All are HMAC-signed with the
shared identity key and verified by the server interceptor of the callee, so no
service ever trusts a bare user id."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

ISSUER = "neutone"
AUDIENCE = "neutone-services"
ALGORITHM = "HS256"


class PrincipalKind(StrEnum):
    USER = "user"
    SERVICE = "service"


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not a Neutone identity token."""


@dataclass(frozen=True, slots=True)
class Identity:
    kind: PrincipalKind
    # The account id for users, the service name for services.
    subject: str
    # The session the user token was minted from; empty for services.
    session_id: str = ""
    display_name: str = ""

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER

    @property
    def is_service(self) -> bool:
        return self.kind is PrincipalKind.SERVICE


@dataclass(frozen=True, slots=True)
class SignedToken:
    token: str
    expire_time: datetime


class IdentityTokens:
    def __init__(self, key: str, *, ttl: timedelta) -> None:
        self._key = key
        self._ttl = ttl

    def mint(self, identity: Identity, *, now: datetime | None = None) -> SignedToken:
        issued = now or datetime.now(UTC)
        expires = issued + self._ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": identity.subject,
            "kind": identity.kind.value,
            "sid": identity.session_id,
            "name": identity.display_name,
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return SignedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), expires)

    def verify(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            return Identity(
                kind=PrincipalKind(claims["kind"]),
                subject=claims["sub"],
                session_id=claims.get("sid", ""),
                display_name=claims.get("name", ""),
            )
        except (jwt.PyJWTError, KeyError, ValueError) as error:
            raise InvalidToken(str(error)) from error
