"""Limits every model-tier request is checked against, and the error for breaking one.

No heavy imports: services may import these numbers to validate early with the same limits.
Input names in errors are the Triton tensor names (see model_repository/README.md), so a
client of the ensemble sees exactly which input it has to fix.
"""

import math

MIN_DURATION_SECONDS = 10.0
MAX_DURATION_SECONDS = 240.0
DEFAULT_DURATION_SECONDS = 30.0
# A song made from a source (an upload, or an extended song) may be shorter or longer than
# one made from text: ACE-Step 1.5 works on up to ten minutes.
MIN_EDIT_DURATION_SECONDS = 1.0
MAX_EDIT_DURATION_SECONDS = 600.0

MIN_INFERENCE_STEPS = 1
MAX_INFERENCE_STEPS = 100
DEFAULT_INFERENCE_STEPS = 8

# 1.0 disables classifier-free guidance (ACE-Step turbo checkpoints always run without it).
MIN_GUIDANCE_SCALE = 1.0
MAX_GUIDANCE_SCALE = 15.0
DEFAULT_GUIDANCE_SCALE = 7.0

MIN_SEED = 0
MAX_SEED = 2**63 - 1
DEFAULT_SEED = 0

# Character (code point) limits after stripping surrounding whitespace.
MAX_DESCRIPTION_CHARS = 1000
MAX_PROMPT_CHARS = 1000
MAX_LYRICS_DESCRIPTION_CHARS = 1000
MAX_LYRICS_CHARS = 4000
MAX_TITLE_CHARS = 80

# Lyrics that mean "no vocals" (ACE-Step's convention).
INSTRUMENTAL_LYRICS = "[instrumental]"


class InvalidInputError(ValueError):
    """A request input breaks a limit; `input_name` is the Triton tensor it came from."""

    def __init__(self, input_name: str, problem: str) -> None:
        super().__init__(f"{input_name}: {problem}")
        self.input_name = input_name
        self.problem = problem


def check_text(input_name: str, value: str, *, max_chars: int, required: bool) -> str:
    """Return `value` stripped, after checking it is present (if required) and short enough."""
    text = value.strip()
    if required and not text:
        raise InvalidInputError(input_name, "must not be empty")
    if len(text) > max_chars:
        raise InvalidInputError(
            input_name, f"must be at most {max_chars} characters (got {len(text)})"
        )
    return text


def check_empty(input_name: str, value: str, *, reason: str) -> None:
    if value.strip():
        raise InvalidInputError(input_name, f"must be empty {reason}")


def check_range(input_name: str, value: float, *, low: float, high: float, unit: str = "") -> None:
    suffix = f" {unit}" if unit else ""
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInputError(
            input_name,
            f"must be between {_number(low)} and {_number(high)}{suffix} (got {_number(value)})",
        )


def _number(value: float) -> str:
    # Integers (seeds, steps) must print exactly; floats print without trailing zeros.
    return str(value) if isinstance(value, int) else f"{value:g}"
