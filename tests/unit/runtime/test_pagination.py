"""Page tokens: only tokens made under the key, for the same query, with a
position of the declared shape are accepted; everything else is a `page_token`
violation (INVALID_ARGUMENT), never an exception."""

import base64
import uuid
from datetime import UTC, datetime

import pytest

from runtime.errors import Violations
from runtime.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_TOKEN_LENGTH,
    NOT_A_TOKEN,
    OTHER_QUERY,
    PagePosition,
    PageTokens,
    ScorePosition,
    SerialPosition,
    TimePosition,
    page_size,
)

KEY = "k" * 48
QUERY = {"listing": "feed", "category": "rock", "trending": False}
SONG = uuid.UUID("6f1c2a52-8d0e-4c43-9a57-3f5d4f0b7e21")
TIME = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


def refusal(
    token: str,
    *,
    shape: type[PagePosition] = TimePosition,
    query: dict = QUERY,
    tokens: PageTokens | None = None,
) -> str | None:
    """The `page_token` violation decoding `token` adds (None if it is accepted)."""
    check = Violations()
    decoded = (tokens or PageTokens(KEY)).decode(check, token, query=query, shape=shape)
    if "page_token" in check._found:
        assert decoded is None
    return check._found.get("page_token")


def signed(body: bytes, *, query: dict = QUERY) -> str:
    """A token with a valid MAC around any position bytes: what a leaked key, or an
    older release's tokens, could present."""
    tokens = PageTokens(KEY)
    inner = tokens._fingerprint(query) + body
    return base64.urlsafe_b64encode(tokens._mac(inner) + inner).decode().rstrip("=")


def test_page_size_defaults_and_limits() -> None:
    check = Violations()
    assert page_size(check, 0) == DEFAULT_PAGE_SIZE
    assert page_size(check, 100) == 100
    page_size(check, 101)
    assert "page_size" in check._found


@pytest.mark.parametrize(
    "position",
    [
        TimePosition(time=TIME, id=SONG),
        ScorePosition(score=39012.123456789012, id=SONG),
        ScorePosition(score=-0.1, id=SONG),
        SerialPosition(id=2**63 - 1),
    ],
)
def test_a_token_round_trips_to_the_same_typed_position(position: PagePosition) -> None:
    tokens = PageTokens(KEY)
    token = tokens.encode(position, query=QUERY)
    check = Violations()
    decoded = tokens.decode(check, token, query=QUERY, shape=type(position))
    check.raise_if_any()
    assert decoded == position
    assert len(token) <= MAX_PAGE_TOKEN_LENGTH
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_first_page_has_no_token() -> None:
    check = Violations()
    assert PageTokens(KEY).decode(check, "", query=QUERY, shape=TimePosition) is None
    check.raise_if_any()


def test_every_altered_or_truncated_token_is_refused() -> None:
    token = PageTokens(KEY).encode(TimePosition(time=TIME, id=SONG), query=QUERY)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for index in range(len(raw)):
        altered = bytearray(raw)
        altered[index] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        assert refusal(forged) == NOT_A_TOKEN, index
    for length in range(1, len(token)):
        assert refusal(token[:length]) == NOT_A_TOKEN, length


def test_a_token_made_under_another_key_is_refused() -> None:
    other = PageTokens("o" * 48).encode(TimePosition(time=TIME, id=SONG), query=QUERY)
    assert refusal(other) == NOT_A_TOKEN


def test_a_token_from_another_query_is_refused() -> None:
    token = PageTokens(KEY).encode(TimePosition(time=TIME, id=SONG), query=QUERY)
    for other in (
        {**QUERY, "category": "jazz"},
        {**QUERY, "trending": True},
        {**QUERY, "listing": "my_songs"},
        {"listing": "feed"},
    ):
        assert refusal(token, query=other) == OTHER_QUERY


def test_the_unkeyed_tokens_of_before_are_refused() -> None:
    # ListFeed answered INTERNAL to this one (issue 11): an empty position under
    # the old unkeyed fingerprint of the unfiltered newest feed.
    crafted = "eyJhZnRlciI6IHt9LCAicXVlcnkiOiAiZmEwYTg1N2FhZGU5MjkyZCJ9"
    assert refusal(crafted, query={"category": "", "trending": False}) == NOT_A_TOKEN


@pytest.mark.parametrize(
    "token",
    ["garbage!", "a", "abc=def", "ab cd", "é" * 40, "\x00" * 40, "====", "A" * 20],
)
def test_what_is_not_base64_or_too_short_is_refused(token: str) -> None:
    assert refusal(token) == NOT_A_TOKEN


def test_a_token_over_the_length_limit_is_refused_before_decoding() -> None:
    assert refusal("A" * (MAX_PAGE_TOKEN_LENGTH + 1)) == (
        f"must be at most {MAX_PAGE_TOKEN_LENGTH} characters"
    )


@pytest.mark.parametrize(
    ("shape", "body"),
    [
        (TimePosition, b"{}"),
        (TimePosition, b"null"),
        (TimePosition, b"[1, 2]"),
        (TimePosition, b"not json"),
        (TimePosition, b"\xff\xfe{"),
        (TimePosition, b'{"time": "2026-05-01T12:30:15", "id": "%s"}' % str(SONG).encode()),
        (TimePosition, b'{"time": "yesterday", "id": "%s"}' % str(SONG).encode()),
        (TimePosition, b'{"time": 1777638615, "id": "%s"}' % str(SONG).encode()),
        (TimePosition, b'{"time": "2026-05-01T12:30:15Z", "id": "1; drop"}'),
        (TimePosition, b'{"time": "2026-05-01T12:30:15Z", "id": 7}'),
        (
            TimePosition,
            b'{"time": "2026-05-01T12:30:15Z", "id": "%s", "x": 1}' % str(SONG).encode(),
        ),
        (TimePosition, b'{"time": "2026-05-01T12:30:15Z"}'),
        (ScorePosition, b'{"score": NaN, "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": Infinity, "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": -Infinity, "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": 1e999, "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": "1.5", "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": true, "id": "%s"}' % str(SONG).encode()),
        (ScorePosition, b'{"score": null, "id": "%s"}' % str(SONG).encode()),
        (SerialPosition, b'{"id": 9223372036854775808}'),
        (SerialPosition, b'{"id": 99999999999999999999999999999999999999}'),
        (SerialPosition, b'{"id": 0}'),
        (SerialPosition, b'{"id": -5}'),
        (SerialPosition, b'{"id": 5.0}'),
        (SerialPosition, b'{"id": "5"}'),
        (SerialPosition, b'{"id": true}'),
        (SerialPosition, b'{"id": [5]}'),
    ],
)
def test_a_signed_position_of_the_wrong_shape_is_refused(
    shape: type[PagePosition], body: bytes
) -> None:
    assert refusal(signed(body), shape=shape) == NOT_A_TOKEN


def test_a_position_of_another_shape_is_refused() -> None:
    tokens = PageTokens(KEY)
    by_time = tokens.encode(TimePosition(time=TIME, id=SONG), query=QUERY)
    by_score = tokens.encode(ScorePosition(score=1.5, id=SONG), query=QUERY)
    assert refusal(by_time, shape=ScorePosition) == NOT_A_TOKEN
    assert refusal(by_score, shape=TimePosition) == NOT_A_TOKEN
    assert refusal(by_score, shape=SerialPosition) == NOT_A_TOKEN


def test_positions_refuse_bad_values_when_made() -> None:
    with pytest.raises(ValueError):
        ScorePosition(score=float("nan"), id=SONG)
    with pytest.raises(ValueError):
        TimePosition(time=datetime(2026, 5, 1), id=SONG)  # no time zone
