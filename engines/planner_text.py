"""What a song's lyrics should look like, and turning a chat model's raw answers into texts.

Pure text handling, no model: the planner asks for lyrics shaped by the song's duration and
cleans what comes back. A real instruct model wraps its answer in chatter ("Sure! Here are
the lyrics:"), markdown (`**Verse 1:**`, `## Chorus`, code fences) and notes ("I hope you
like it!"); none of that may be sung. Lyric lines are kept as the model wrote them, never
re-wrapped: a line is a sung phrase.
"""

import re
import unicodedata
from dataclasses import dataclass

from engines import limits

# About two sung lines per ten seconds of song.
SECONDS_PER_LINE = 5.0
LINES_PER_SECTION = 4

# The section tags the music model is given, in ACE-Step's lower-case spelling.
SECTION_NAMES = ("intro", "verse", "pre-chorus", "chorus", "bridge", "outro")
_SECTION_ALIASES = {
    "prechorus": "pre-chorus",
    "postchorus": "chorus",
    "refrain": "chorus",
    "hook": "chorus",
}
_SECTION_WORD = r"(?:pre|post)[\s-]?chorus|chorus|refrain|hook|verse|bridge|intro|outro"
# A whole heading: "Verse 2", "Final Chorus", "Chorus x2", "Verse 1 - Rap", "Bridge (soft)".
_HEADING = re.compile(
    rf"(?:(?:final|last|first|second|third)\s+)?(?P<name>{_SECTION_WORD})"
    r"(?:\s*(?:\d+|[ivx]+\b))?(?:\s*x\s*\d+)?(?:\s*[-\u2013\u2014(].*)?",
    re.I,
)
# "(Repeat chorus)", "Repeat Chorus x2", "[Chorus repeats]": that section, sung again.
_REPEAT = re.compile(
    rf"(?:repeat\s+(?:the\s+)?(?P<before>{_SECTION_WORD})|(?P<after>{_SECTION_WORD})\s+repeats?)"
    r"\b.*",
    re.I,
)
# Stage directions in parentheses: "(Instrumental break)", "(Guitar solo)", "(Fade out)".
_DIRECTION = re.compile(
    r"\b(?:instrumental|solo|break|fades?|fading|spoken|pause|beat drops?|music)\b", re.I
)
_BRACKETED = re.compile(r"[\[(](?P<inner>.*)[\])]")
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
_QUOTED = re.compile(r"[\"“«](?P<text>[^\"”»]+)[\"”»]")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
# Markdown in front of a line: headings, quotes, bullets, list numbers.
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,2}[.)]\s+)+")
_EMPHASIS = re.compile(r"\*\*|__|`|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")
_WHOLE_EMPHASIS = re.compile(r"^\s*(?:#{1,6}\s+.*|\*\*[^*]+\*\*:?|__[^_]+__:?|\"[^\"]+\")\s*$")
_LABEL = re.compile(
    r"^(?:song\s+|music\s+)?(?:title|lyrics|style(?:\s+prompt)?|prompt)\s*:\s*", re.I
)
_TITLE_LABEL = re.compile(r"^(?:song\s+|suggested\s+)?title\b[^:]{0,20}:\s*", re.I)

# Chatter before the answer: "Sure!", "Here are the lyrics for your song:".
_OPENING = re.compile(
    r"^(?:(?:sure|certainly|of course|absolutely|okay|ok|alright|great)(?:\s+thing)?(?:[!,.:]|$)"
    r"|happy to help"
    r"|here(?:'s|\u2019s| is| are)\b.*\b(?:lyrics|song|verses?|version|draft|take|title|prompt)\b"
    r"|(?:below|the following)\b.*\b(?:lyrics|song|title|prompt)\b)",
    re.I,
)
# Chatter after the answer: "I hope you like it!", "Let me know if you want changes."
_CLOSING = re.compile(
    r"^(?:(?:i )?hope you\b.*\b(?:like|enjoy|love)\b.*\b(?:it|this|these|them|lyrics|song)\b"
    r"|(?:i )?hope (?:this|these|that|it|the (?:lyrics|song))\b.*\b(?:fits?|works?|helps?"
    r"|captures?|suits?|resonates?|meets?)\b"
    r"|let me know\b|feel free\b|enjoy\W*$|happy (?:singing|listening|writing)\b"
    r"|(?:would|do) you (?:like|want)\b|if you(?:'d| would)? (?:like|want)\b"
    r"|(?:i've|i have) (?:written|created|crafted|tried|kept|aimed|included)\b"
    r"|(?:this|these) (?:song|lyrics|track|verses?)\b.*\b(?:captures?|conveys?|reflects?"
    r"|explores?|evokes?|blends?|combines?|features?|follows?|uses?|tells?|paints?)\b"
    r"|note\s*:)",
    re.I,
)


@dataclass(frozen=True)
class LyricsShape:
    """The lyrics a song of some duration needs: its sections, in order, of `section_lines`."""

    sections: tuple[str, ...]
    section_lines: int

    @property
    def lines(self) -> int:
        return len(self.sections) * self.section_lines

    def describe(self) -> str:
        """The shape as the instruction states it: "[verse], [chorus] (4 lines each)"."""
        tags = ", ".join(f"[{name}]" for name in self.sections)
        return f"{tags} ({self.section_lines} lines each)"


def lyrics_shape(duration_seconds: float) -> LyricsShape:
    """About two lines per ten seconds, in sections of up to four lines."""
    lines = max(1, round(duration_seconds / SECONDS_PER_LINE))
    count = max(1, round(lines / LINES_PER_SECTION))
    return LyricsShape(section_names(count), min(LINES_PER_SECTION, lines))


def section_names(count: int) -> tuple[str, ...]:
    """Verse/chorus pairs, a bridge for the third verse, an outro when the count is odd."""
    if count == 1:
        return ("verse",)
    names = [name for _ in range(count // 2) for name in ("verse", "chorus")]
    if len(names) >= 6:
        names[4] = "bridge"
    return (*names, "outro") if count % 2 else tuple(names)


@dataclass(frozen=True)
class _Line:
    text: str
    # The whole raw line was a markdown heading, bold or quoted: a title, not a lyric.
    emphasized: bool


@dataclass
class _Section:
    name: str
    lines: list[str]


def clean_lyrics(written: str, *, complete: bool, fallback: str) -> str:
    """Lyrics as `[verse]`/`[chorus]`… sections of the lines the model wrote, and nothing else.

    `complete` is False when generation stopped at the token budget: the last line is then
    cut mid-phrase and dropped. Lines before the first tag become a verse; lyrics without
    any tag are split into verse/chorus sections of LINES_PER_SECTION lines. `fallback`
    (what the lyrics are about) is sung when nothing usable was written.
    """
    lines = _answer_lines(written)
    if not complete and lines:
        lines.pop()
    sections: list[_Section] = []
    untagged: list[str] = []
    for line in _without_chatter(lines):
        heading = _heading(line)
        if heading is not None:
            name, inline = heading
            sections.append(_Section(name, [inline] if inline else []))
        elif repeated := _REPEAT.fullmatch(_unbracketed(line)):
            name = _section_name(repeated["before"] or repeated["after"])
            earlier = next((s for s in sections if s.name == name and s.lines), None)
            if earlier is not None:
                sections.append(_Section(name, list(earlier.lines)))
        elif _is_direction(line) or _TITLE_LABEL.match(line):
            continue
        elif sections:
            sections[-1].lines.append(line)
        else:
            untagged.append(line)

    if untagged and sections:
        sections.insert(0, _Section("verse", untagged))
    elif untagged:
        chunks = [
            untagged[start : start + LINES_PER_SECTION]
            for start in range(0, len(untagged), LINES_PER_SECTION)
        ]
        names = section_names(len(chunks))
        sections = [_Section(name, chunk) for name, chunk in zip(names, chunks, strict=True)]
    lyrics = _joined([section for section in sections if section.lines], limits.MAX_LYRICS_CHARS)
    if lyrics:
        return lyrics
    # The topic's lines fit: they are checked against a tighter limit.
    topic = [line.text for line in _answer_lines(fallback)] or ["la la la"]
    return _joined([_Section("verse", topic)], limits.MAX_LYRICS_CHARS)


def clean_title(written: str) -> str:
    """A short plain title: no label, quotes, markdown or trailing period; "Untitled" if none."""
    for line in _answer_lines(written):
        text = line.text
        quoted = _QUOTED.search(text)
        if _OPENING.match(text) or text.endswith(":"):
            if quoted is None:
                continue
            text = quoted["text"]
        elif _CLOSING.match(text):
            continue
        text = _TITLE_LABEL.sub("", _unbracketed(text))
        title = " ".join(text.strip(_QUOTES + " *_").split()).rstrip(".,;:").strip()
        if title:
            return _shortened(title, limits.MAX_TITLE_CHARS)
    return "Untitled"


def clean_prompt(written: str, *, fallback: str) -> str:
    """The style prompt on one line, without chatter, labels or markdown."""
    parts = [
        _LABEL.sub("", line).strip(_QUOTES + " ")
        for line in _without_chatter(_answer_lines(written))
    ]
    prompt = ", ".join(part.rstrip(",") for part in parts if part)
    return _shortened(prompt, limits.MAX_PROMPT_CHARS) or _shortened(
        fallback, limits.MAX_PROMPT_CHARS
    )


def printable(text: str) -> str:
    """Drops control characters and the replacement marks of bytes cut mid-character."""
    return "".join(
        char
        for char in text
        if char == "\n" or (char != "\ufffd" and not unicodedata.category(char).startswith("C"))
    )


def _answer_lines(written: str) -> list[_Line]:
    """The answer's non-empty lines, without thinking, code fences, rules and markdown."""
    lines = []
    for raw in _THINKING.sub("", printable(written)).splitlines():
        if _FENCE.match(raw) or _RULE.match(raw):
            continue
        text = " ".join(_EMPHASIS.sub("", _LINE_MARKUP.sub("", raw)).split())
        if text:
            lines.append(_Line(text, emphasized=bool(_WHOLE_EMPHASIS.match(raw))))
    return lines


def _without_chatter(lines: list[_Line]) -> list[str]:
    """The lines between the opening (chatter, labels, a title) and the closing chatter."""
    start = 0
    title_seen = False  # one emphasized line is a title; more are emphasized lyrics
    while start < len(lines) and _is_opening(lines[start], title_seen=title_seen):
        title_seen = title_seen or lines[start].emphasized
        start += 1
    end = len(lines)
    while end > start and _CLOSING.match(lines[end - 1].text):
        end -= 1
    return [line.text for line in lines[start:end]]


def _is_opening(line: _Line, *, title_seen: bool) -> bool:
    text = line.text
    if _heading(text) is not None:
        return False
    if _OPENING.match(text) or _TITLE_LABEL.match(text) or text.endswith(":"):
        return True
    return line.emphasized and not title_seen


def _heading(line: str) -> tuple[str, str] | None:
    """(section name, lyric written on the same line) when the line is a section heading."""
    inner = _unbracketed(line)
    head, colon, rest = inner.partition(":")
    match = _HEADING.fullmatch(head.strip())
    if match is None:
        return None
    rest = rest.strip()
    # "Chorus: We rise" carries a lyric; "[Verse 2: Rap]" and "Verse 1: (soft)" do not.
    carries_lyric = colon and inner == line and rest and not _BRACKETED.fullmatch(rest)
    return _section_name(match["name"]), rest if carries_lyric else ""


def _section_name(word: str) -> str:
    key = re.sub(r"[\s-]+", "", word.lower())
    name = _SECTION_ALIASES.get(key, key)
    return name if name in SECTION_NAMES else "verse"


def _unbracketed(line: str) -> str:
    """The line without surrounding brackets or a trailing colon: [Verse 1], (Chorus), Chorus:."""
    inner = line.rstrip(":").strip()
    match = _BRACKETED.fullmatch(inner)
    return match["inner"].strip().rstrip(":").strip() if match else inner


def _is_direction(line: str) -> bool:
    """A tag the music model does not know ("[Guitar solo]") or a direction in parentheses."""
    return (line.startswith("[") and line.endswith("]")) or bool(
        line.startswith("(") and line.endswith(")") and _DIRECTION.search(line)
    )


def _joined(sections: list[_Section], max_chars: int) -> str:
    """The sections as text, ending with the last whole line that fits in `max_chars`."""
    pieces: list[str] = []
    length = 0
    for section in sections:
        tag = ("\n\n" if pieces else "") + f"[{section.name}]"
        for index, line in enumerate(section.lines):
            piece = (tag if index == 0 else "") + "\n" + line
            if length + len(piece) > max_chars:
                return "".join(pieces)
            pieces.append(piece)
            length += len(piece)
    return "".join(pieces)


def _shortened(text: str, max_chars: int) -> str:
    """`text` cut at the last word boundary within `max_chars`."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:max_chars]
    return cut.rstrip(" ,;:-")
