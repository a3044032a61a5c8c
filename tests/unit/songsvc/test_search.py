"""What a search text becomes: its words, and a tsquery of their prefixes."""

import pytest

from songsvc.search import MAX_QUERY_WORDS, prefix_tsquery, query_words


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("Summer Nights", ["summer", "nights"]),
        ("  summ  ", ["summ"]),
        ("don't stop", ["don", "t", "stop"]),
        ("rock_n_roll 2024!", ["rock", "n", "roll", "2024"]),
        ("Été à Paris", ["été", "à", "paris"]),
        ("東京 night", ["東京", "night"]),
        ("!!! --- ***", []),
        ("", []),
    ],
)
def test_query_words_are_letters_and_digits_lower_cased(query: str, words: list[str]) -> None:
    assert query_words(query) == words


@pytest.mark.parametrize(
    "query", ["a & b", "a | !b", "a <-> b", "'a':* & b", "a:*B", "(a)", "a\\'b", "a\x00b"]
)
def test_tsquery_operators_in_a_query_are_only_separators(query: str) -> None:
    for word in query_words(query):
        assert word.isalnum(), word


def test_only_the_first_words_count() -> None:
    words = query_words(" ".join(f"w{n}" for n in range(20)))
    assert words == [f"w{n}" for n in range(MAX_QUERY_WORDS)]


def test_every_word_is_a_prefix_and_all_must_match() -> None:
    assert prefix_tsquery(["summ", "nig"]) == "'summ':* & 'nig':*"
    assert prefix_tsquery([]) == ""
