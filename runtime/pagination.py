"""AIP-158 pagination: page sizes with limits and opaque keyset page tokens.

A page token says where the previous page ended (its position: the last row's
sort key and id) and which query it belongs to, under a MAC keyed with the
services' page-token key. Only tokens this deployment made are accepted: a
crafted, truncated or altered token, one made under another key, or one from
another query is INVALID_ARGUMENT naming `page_token`. The position is then
checked against the shape its caller declares (a `PagePosition` model), so a
handler gets typed, bounded values to put in its query, never raw JSON.

    tokens = PageTokens(settings.page_token_key)
    query = {"listing": "my_songs", "owner": str(owner_id)}
    after = tokens.decode(check, request.page_token, query=query, shape=TimePosition)
    ...
    next_token = tokens.encode(TimePosition(time=last.create_time, id=last.id), query=query)
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    SecretStr,
    ValidationError,
)

from runtime.errors import Violations

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE_TOKEN_LENGTH = 512
# Truncated HMAC-SHA256: 128 bits of MAC are beyond guessing; 64 bits tell queries apart.
MAC_BYTES = 16
QUERY_BYTES = 8
MAX_BIGINT = 2**63 - 1

NOT_A_TOKEN = "is not a token from a previous response"
OTHER_QUERY = "belongs to a different query"


def page_size(check: Violations, value: int) -> int:
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return check.integer("page_size", value, minimum=1, maximum=MAX_PAGE_SIZE)


class PagePosition(BaseModel):
    """Where a page ends. Subclasses declare the fields; values are checked
    strictly (no coercion of strings to numbers), and nothing else is allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TimePosition(PagePosition):
    """After the row sorted by (time, id)."""

    time: AwareDatetime
    id: UUID


class ScorePosition(PagePosition):
    """After the row sorted by (score, id); the score is a finite float."""

    score: FiniteFloat
    id: UUID


class SerialPosition(PagePosition):
    """After the row with this bigint id."""

    id: int = Field(ge=1, le=MAX_BIGINT)


PositionT = TypeVar("PositionT", bound=PagePosition)


class PageTokens:
    """Makes and checks page tokens under one key (NEUTONE_PAGE_TOKEN_KEY).

    `query` is everything the listing's rows depend on, the listing's own name
    included (e.g. {"listing": "feed", "category": "rock"}), so a token is never
    accepted by another listing or filter. Its values must be JSON-serializable
    (UUIDs are written as strings)."""

    def __init__(self, key: SecretStr | str) -> None:
        secret = key.get_secret_value() if isinstance(key, SecretStr) else key
        self._key = secret.encode()

    def encode(self, position: PagePosition, *, query: Mapping[str, object]) -> str:
        body = self._fingerprint(query) + position.model_dump_json().encode()
        token = self._mac(body) + body
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(
        self,
        check: Violations,
        token: str,
        *,
        query: Mapping[str, object],
        shape: type[PositionT],
    ) -> PositionT | None:
        """The position after which the page starts: None for the first page, and
        None with a `page_token` violation added for anything but a valid token."""
        if not token:
            return None
        if len(token) > MAX_PAGE_TOKEN_LENGTH:
            check.add("page_token", f"must be at most {MAX_PAGE_TOKEN_LENGTH} characters")
            return None
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            check.add("page_token", NOT_A_TOKEN)
            return None
        mac, body = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if len(body) < QUERY_BYTES or not hmac.compare_digest(mac, self._mac(body)):
            check.add("page_token", NOT_A_TOKEN)
            return None
        fingerprint, position = body[:QUERY_BYTES], body[QUERY_BYTES:]
        if not hmac.compare_digest(fingerprint, self._fingerprint(query)):
            check.add("page_token", OTHER_QUERY)
            return None
        try:
            return shape.model_validate_json(position)
        except ValidationError:
            # Signed by us but not of this shape: made by a release with other positions.
            check.add("page_token", NOT_A_TOKEN)
            return None

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, b"page token\0" + body, hashlib.sha256).digest()[:MAC_BYTES]

    def _fingerprint(self, query: Mapping[str, object]) -> bytes:
        canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
        digest = hmac.new(self._key, b"page query\0" + canonical.encode(), hashlib.sha256)
        return digest.digest()[:QUERY_BYTES]
