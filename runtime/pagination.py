"""AIP-158 pagination: page sizes with limits and opaque keyset page tokens.

A token encodes where the previous page ended and a fingerprint of the query it
belongs to, so a token reused with another filter is refused instead of
silently returning the wrong rows."""

import base64
import hashlib
import json
from typing import Any

from runtime.errors import Violations

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE_TOKEN_LENGTH = 512


def page_size(check: Violations, value: int) -> int:
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return check.integer("page_size", value, minimum=1, maximum=MAX_PAGE_SIZE)


def _fingerprint(query: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]


def encode_page_token(position: dict[str, Any], *, query: dict[str, Any]) -> str:
    payload = {"after": position, "query": _fingerprint(query)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_page_token(check: Violations, token: str, *, query: dict[str, Any]) -> dict | None:
    """The position after which the page starts; None for the first page."""
    if not token:
        return None
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        check.add("page_token", f"must be at most {MAX_PAGE_TOKEN_LENGTH} characters")
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        position = payload["after"]
        matches = payload["query"] == _fingerprint(query)
    except (ValueError, KeyError, TypeError):
        check.add("page_token", "is not a token from a previous response")
        return None
    if not matches or not isinstance(position, dict):
        check.add("page_token", "belongs to a different query")
        return None
    return position
