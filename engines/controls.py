"""Musical controls ACE-Step 1.5 understands: tempo, key and scale, time signature
and the language sung, with the limits its release documents (acestep/constants.py).

No heavy imports: services validate requests with these before any model runs."""

MIN_BPM = 30
MAX_BPM = 300
TIME_SIGNATURES = (2, 3, 4, 6)
# The languages ACE-Step 1.5 sings in (ISO 639-1, and "yue" for Cantonese).
VOCAL_LANGUAGES = (
    "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en",
    "es", "fa", "fi", "fr", "he", "hi", "hr", "ht", "hu", "id",
    "is", "it", "ja", "ko", "la", "lt", "ms", "ne", "nl", "no",
    "pa", "pl", "pt", "ro", "ru", "sa", "sk", "sr", "sv", "sw",
    "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh",
)  # fmt: skip
MODES = ("major", "minor")
# The twelve pitch classes, each as it is written in a key's canonical name.
_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_NATURAL_PITCHES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
# The 24 major and minor keys, as songs are given them.
KEY_SCALES = tuple(f"{pitch} {mode}" for mode in MODES for pitch in _PITCH_NAMES)


def key_scale(text: str) -> str | None:
    """The canonical name of a key ("F# minor" for "f♯ Minor" or "Gb minor"), or
    None when `text` names none of the 24 major and minor keys."""
    note, _, mode = text.strip().partition(" ")
    mode = mode.strip().lower()
    if mode not in MODES or not note or note[0].upper() not in _NATURAL_PITCHES:
        return None
    accidental = note[1:]
    if accidental not in _ACCIDENTALS:
        return None
    pitch = (_NATURAL_PITCHES[note[0].upper()] + _ACCIDENTALS[accidental]) % 12
    return f"{_PITCH_NAMES[pitch]} {mode}"
