from runtime.errors import Violations
from runtime.pagination import DEFAULT_PAGE_SIZE, decode_page_token, encode_page_token, page_size


def test_page_size_defaults_and_limits() -> None:
    check = Violations()
    assert page_size(check, 0) == DEFAULT_PAGE_SIZE
    assert page_size(check, 100) == 100
    page_size(check, 101)
    assert "page_size" in check._found


def test_token_round_trip_for_the_same_query() -> None:
    query = {"category": "rock"}
    token = encode_page_token({"time": "2026-01-01T00:00:00", "id": "x"}, query=query)
    check = Violations()
    assert decode_page_token(check, token, query=query) == {
        "time": "2026-01-01T00:00:00",
        "id": "x",
    }
    assert decode_page_token(check, "", query=query) is None
    check.raise_if_any()


def test_token_from_another_query_or_garbage_is_refused() -> None:
    token = encode_page_token({"id": "x"}, query={"category": "rock"})
    for bad in (token, "garbage!", "e30", "x" * 600):
        check = Violations()
        assert decode_page_token(check, bad, query={"category": "jazz"}) is None
        assert "page_token" in check._found
