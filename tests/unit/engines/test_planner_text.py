"""The planner's clean-up of raw chat-model answers, fed answers as instruct models write them."""

import pytest

from engines import limits
from engines.planner import PlannerSettings
from engines.planner_text import (
    SECTION_NAMES,
    clean_lyrics,
    clean_prompt,
    clean_title,
    lyrics_shape,
    section_names,
)

MARKDOWN_ANSWER = """Sure! Here are the lyrics for "Summer Rain":

**Title: Summer Rain**

**Verse 1:**
Drops are falling on the window pane
I can hear you calling out my name

**Chorus:**
Oh, summer rain, wash it all away
(Oh, oh, oh)

**Verse 2:**
- Puddles shine like mirrors in the street
- Every step is dancing to the beat

**Chorus:**
Oh, summer rain, wash it all away
(Oh, oh, oh)

---

I hope you like these lyrics! Let me know if you'd like any changes."""

MARKDOWN_LYRICS = """[verse]
Drops are falling on the window pane
I can hear you calling out my name

[chorus]
Oh, summer rain, wash it all away
(Oh, oh, oh)

[verse]
Puddles shine like mirrors in the street
Every step is dancing to the beat

[chorus]
Oh, summer rain, wash it all away
(Oh, oh, oh)"""


def lyrics(written: str, *, complete: bool = True) -> str:
    return clean_lyrics(written, complete=complete, fallback="summer rain")


def test_markdown_headings_preamble_and_closing_chatter_are_not_sung() -> None:
    assert lyrics(MARKDOWN_ANSWER) == MARKDOWN_LYRICS


def test_heading_styles_all_become_section_tags() -> None:
    written = """# Midnight Drive

## Intro
Engines hum beneath the stars

### [Verse 1 - Leaving town]
Headlights cutting through the dark

(Pre-Chorus)
Hold on, hold on

REFRAIN
We drive, we drive

Hook: Never looking back

Bridge (softly)
Maybe we'll come home

Outro:
Fade into the night"""
    assert lyrics(written) == (
        "[intro]\nEngines hum beneath the stars\n\n"
        "[verse]\nHeadlights cutting through the dark\n\n"
        "[pre-chorus]\nHold on, hold on\n\n"
        "[chorus]\nWe drive, we drive\n\n"
        "[chorus]\nNever looking back\n\n"
        "[bridge]\nMaybe we'll come home\n\n"
        "[outro]\nFade into the night"
    )


def test_code_fences_title_lines_thinking_and_unknown_tags_are_dropped() -> None:
    written = """<think>
The user wants a sad song. Let me write two sections.
</think>
```lyrics
Title: Empty Rooms
[Verse]
Empty rooms and silent halls
[Guitar Solo]
(Instrumental break)
(ooh, ooh)
[Chorus]
Nobody calls
```"""
    assert lyrics(written) == (
        "[verse]\nEmpty rooms and silent halls\n(ooh, ooh)\n\n[chorus]\nNobody calls"
    )


def test_repeat_directions_sing_the_section_again() -> None:
    written = (
        "[Chorus]\nWe are the light\nShining so bright\n[Verse]\nWalking alone\n(Repeat Chorus)"
    )
    assert lyrics(written) == (
        "[chorus]\nWe are the light\nShining so bright\n\n"
        "[verse]\nWalking alone\n\n"
        "[chorus]\nWe are the light\nShining so bright"
    )


def test_lines_are_never_rewrapped_and_lyric_lines_that_look_like_chatter_stay() -> None:
    long_line = "I hope you like the way the city lights are dancing on the river tonight"
    written = (
        f"[verse]\n{long_line}\nLet me know your name\n"
        "[chorus]\nHere comes the sun again\nI hope you love me"
    )
    assert lyrics(written) == (
        f"[verse]\n{long_line}\nLet me know your name\n\n"
        "[chorus]\nHere comes the sun again\nI hope you love me"
    )


def test_a_lyric_on_the_heading_line_is_kept() -> None:
    written = "Verse 1: Walking down the road\nwith my heart\nChorus: We rise\n[Verse 2: Rap]\nYo"
    assert lyrics(written) == (
        "[verse]\nWalking down the road\nwith my heart\n\n[chorus]\nWe rise\n\n[verse]\nYo"
    )


def test_lines_before_the_first_tag_form_a_verse() -> None:
    assert lyrics("Morning light\nOn my face\n[Chorus]\nRise up") == (
        "[verse]\nMorning light\nOn my face\n\n[chorus]\nRise up"
    )


def test_untagged_lyrics_are_split_into_sections_of_whole_lines() -> None:
    lines = [f"line number {n}" for n in range(1, 11)]
    assert (
        lyrics("\n".join(lines))
        == (
            "[verse]\n"
            + "\n".join(lines[:4])
            + "\n\n[chorus]\n"
            + "\n".join(lines[4:8])
            # An odd number of sections ends on an outro.
            + "\n\n[outro]\n"
            + "\n".join(lines[8:])
        )
    )


def test_a_text_cut_at_the_token_budget_loses_its_unfinished_line() -> None:
    written = "[verse]\nThe river runs\nThe river sh"
    assert lyrics(written, complete=False) == "[verse]\nThe river runs"
    assert lyrics(written, complete=True) == "[verse]\nThe river runs\nThe river sh"
    # A heading cut short leaves no empty section behind.
    assert lyrics("[verse]\nThe river runs\n**Cho", complete=False) == "[verse]\nThe river runs"


def test_nothing_usable_sings_the_topic() -> None:
    assert lyrics("Sure! Here are the lyrics:\n\nI hope you like them!") == "[verse]\nsummer rain"
    assert lyrics("", complete=False) == "[verse]\nsummer rain"


def test_long_lyrics_end_on_a_whole_line_within_the_limit() -> None:
    line = "a line of lyrics that is sung " * 3
    written = "\n".join(f"[verse]\n{line}\n{line}" for _ in range(100))
    cleaned = lyrics(written)
    assert len(cleaned) <= limits.MAX_LYRICS_CHARS
    assert cleaned.endswith(line.strip())
    assert len(cleaned) > limits.MAX_LYRICS_CHARS - 2 * len(line)


def test_only_known_section_tags_come_out() -> None:
    cleaned = lyrics(MARKDOWN_ANSWER + "\n[Post-Chorus]\nyeah\n[Hook]\nhey")
    tags = [line[1:-1] for line in cleaned.splitlines() if line.startswith("[")]
    assert set(tags) <= set(SECTION_NAMES)


@pytest.mark.parametrize(
    ("written", "title"),
    [
        ("Summer Rain", "Summer Rain"),
        ('"Summer Rain"', "Summer Rain"),
        ("Sure! How about \u201cSummer Rain\u201d?", "Summer Rain"),
        ('**Title:** "Neon Heartbreak"', "Neon Heartbreak"),
        ("# Midnight Drive.", "Midnight Drive"),
        ("Here's a title for your song:\n\nEchoes of Tomorrow", "Echoes of Tomorrow"),
        ("Song Title: Golden Hour (Acoustic)", "Golden Hour (Acoustic)"),
        ("<think>a title about rain</think>\nRain Dance", "Rain Dance"),
        ("", "Untitled"),
        ("Sure!", "Untitled"),
    ],
)
def test_titles_come_out_plain(written: str, title: str) -> None:
    assert clean_title(written) == title


def test_a_long_title_is_cut_at_a_word() -> None:
    title = clean_title("word " * 40)
    assert len(title) <= limits.MAX_TITLE_CHARS and title.endswith("word")


@pytest.mark.parametrize(
    ("written", "prompt"),
    [
        ("dreamy lo-fi hip hop, soft piano, 75 bpm", "dreamy lo-fi hip hop, soft piano, 75 bpm"),
        (
            "Sure! Here's a style prompt:\n\n**Style prompt:** dreamy lo-fi, soft piano\n\n"
            "I hope this fits!",
            "dreamy lo-fi, soft piano",
        ),
        (
            "- Genre: synthwave\n- Mood: nostalgic\n- Tempo: 100 bpm",
            "Genre: synthwave, Mood: nostalgic, Tempo: 100 bpm",
        ),
        ("", "fallback description"),
    ],
)
def test_style_prompts_come_out_on_one_line(written: str, prompt: str) -> None:
    assert clean_prompt(written, fallback="fallback description") == prompt


@pytest.mark.parametrize(
    ("seconds", "sections"),
    [
        (10, ("verse",)),
        (30, ("verse", "chorus")),
        (60, ("verse", "chorus", "outro")),
        (120, ("verse", "chorus", "verse", "chorus", "bridge", "chorus")),
    ],
)
def test_the_lyrics_shape_follows_the_duration(seconds: float, sections: tuple[str, ...]) -> None:
    shape = lyrics_shape(seconds)
    assert shape.sections == sections
    # About two lines per ten seconds.
    assert abs(shape.lines - seconds / 5) <= 2
    assert shape.describe().startswith(", ".join(f"[{name}]" for name in sections))


def test_section_names_alternate_and_end_on_a_chorus_or_outro() -> None:
    for count in range(2, 16):
        names = section_names(count)
        assert len(names) == count
        assert names[-1] in {"chorus", "outro"}
        assert names.count("chorus") >= (count - 1) // 2


def test_the_lyrics_budget_grows_with_the_duration_up_to_its_cap() -> None:
    settings = PlannerSettings()
    longest = lyrics_shape(limits.MAX_DURATION_SECONDS)
    budgets = [settings.lyrics_budget(lyrics_shape(seconds)) for seconds in range(10, 241, 10)]
    assert budgets == sorted(budgets) and budgets[0] < budgets[-1] / 10
    # The longest song fits in the default budget: its lyrics are never cut for length.
    assert settings.lyrics_budget(longest) < settings.lyrics_tokens
    assert PlannerSettings(lyrics_tokens=100).lyrics_budget(longest) == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", 0.0), ("top_p", 0.0), ("top_p", 1.5), ("lyrics_tokens", 0)],
)
def test_bad_settings_are_refused_naming_them(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PlannerSettings(**{field: value})
