"""What a search (SearchSongs, ListMySongs' text filter) looks for: the words of
the query, each matched as the start of a word, so results can follow what a
person is typing ("summ nig" finds "Summer Nights")."""

import re

# The longest query accepted, and the words of it that count: enough for any
# title, and a bound on the work one query can ask of the index.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
# Letters and digits, as PostgreSQL's text parser splits words ("_" and
# punctuation separate them), so a query word is never an operator of tsquery.
_WORD = re.compile(r"[^\W_]+")


def query_words(query: str) -> list[str]:
    """The query's first MAX_QUERY_WORDS words, lower-cased; [] when it has none."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_QUERY_WORDS]


def prefix_tsquery(words: list[str]) -> str:
    """A to_tsquery text matching documents that hold every word, each as a prefix
    of one of their words. The words hold letters and digits only (query_words),
    so quoting them is all the escaping they need."""
    return " & ".join(f"'{word}':*" for word in words)
