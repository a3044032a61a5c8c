"""Page tokens an attacker can make, and some only a leaked key could: every
listing must refuse each of them as INVALID_ARGUMENT naming `page_token`."""

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime

from runtime.pagination import (
    PagePosition,
    PageTokens,
    ScorePosition,
    SerialPosition,
    TimePosition,
)

# Issue 11: this token made ListFeed answer INTERNAL to a signed-out caller.
CRAFTED = "eyJhZnRlciI6IHt9LCAicXVlcnkiOiAiZmEwYTg1N2FhZGU5MjkyZCJ9"
SONG = uuid.uuid4()
EXAMPLES: dict[type[PagePosition], PagePosition] = {
    TimePosition: TimePosition(time=datetime.now(UTC), id=SONG),
    ScorePosition: ScorePosition(score=1.5, id=SONG),
    SerialPosition: SerialPosition(id=5),
}
# Positions no release makes (model_construct skips the checks), signed all the same.
IMPOSSIBLE = {
    "a time without a zone": TimePosition.model_construct(time=datetime(2026, 1, 1), id=SONG),
    "an infinite score": ScorePosition.model_construct(score=float("inf"), id=SONG),
    "a NaN score": ScorePosition.model_construct(score=float("nan"), id=SONG),
    "an id past bigint": SerialPosition.model_construct(id=10**40),
    "a negative id": SerialPosition.model_construct(id=-1),
}


def unkeyed(position: dict, query: dict) -> str:
    """A token in the old format, whose fingerprint anyone could compute."""
    fingerprint = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
    payload = json.dumps({"after": position, "query": fingerprint}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def forged_tokens(
    key: str, query: dict[str, object], real: str, *, shape: type[PagePosition]
) -> dict[str, str]:
    """Bad tokens for the listing of `query`, whose positions have `shape`, given
    a real token `real` of it and the services' key."""
    ours = PageTokens(key)
    old_query = {name: value for name, value in query.items() if name != "listing"}
    forged = {
        "the issue's token": CRAFTED,
        "unkeyed, empty position": unkeyed({}, old_query),
        "unkeyed, bad values": unkeyed({"time": "x", "score": "NaN", "id": "1; drop"}, old_query),
        "altered": real[:10] + ("A" if real[10] != "A" else "B") + real[11:],
        "truncated": real[: len(real) // 2],
        "under another key": PageTokens("x" * 48).encode(EXAMPLES[shape], query=query),
        "of another listing": ours.encode(EXAMPLES[shape], query={**query, "listing": "other"}),
        "not base64": "%%%not a token%%%",
    }
    for other, example in EXAMPLES.items():
        if other is not shape:
            forged[f"a {other.__name__}"] = ours.encode(example, query=query)
    for name, position in IMPOSSIBLE.items():
        forged[name] = ours.encode(position, query=query)
    return forged
