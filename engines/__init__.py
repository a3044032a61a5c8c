"""Inference engines of Neutone's model tier, usable in-process or behind Triton.

`Planner`, `MusicGenerator` and `CoverArtist` pull in torch, transformers and diffusers, so
they are imported on first use: services import this package for `CATEGORIES`, the limits
and the request records without paying for (or installing) the model stack.
"""

from typing import TYPE_CHECKING, Any

from engines.categories import CATEGORIES
from engines.limits import InvalidInputError
from engines.schema import (
    CoverRequest,
    MusicRequest,
    PlanRequest,
    SongMode,
    SongPlan,
    SongRequest,
)

if TYPE_CHECKING:
    from engines.cover import CoverArtist
    from engines.music import MusicGenerator
    from engines.planner import Planner

__all__ = [
    "CATEGORIES",
    "CoverArtist",
    "CoverRequest",
    "InvalidInputError",
    "MusicGenerator",
    "MusicRequest",
    "PlanRequest",
    "Planner",
    "SongMode",
    "SongPlan",
    "SongRequest",
]

_LAZY = {
    "CoverArtist": "engines.cover",
    "MusicGenerator": "engines.music",
    "Planner": "engines.planner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'engines' has no attribute {name!r}")
