"""Suggested lyrics fit CreateSong's limit, cut at a line."""

from engines import limits
from songsvc.service import _fit_lyrics


def test_lyrics_within_the_limit_are_kept_whole() -> None:
    lyrics = "[verse]\nrain on glass\n" * 10
    assert _fit_lyrics(lyrics) == lyrics


def test_longer_lyrics_keep_the_whole_lines_that_fit() -> None:
    line = "la " * 30 + "\n"
    fitted = _fit_lyrics(line * 100)
    assert len(fitted) <= limits.MAX_LYRICS_CHARS
    assert fitted == (line * (len(fitted) // len(line) + 1)).rstrip()


def test_one_endless_line_is_cut_at_the_limit() -> None:
    assert _fit_lyrics("x" * 5000) == "x" * limits.MAX_LYRICS_CHARS
