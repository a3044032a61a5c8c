"""Checks a whole song request before any model runs; see ../../README.md.

The first step of neutone_song. Rejecting bad requests here, not in acestep or cover, spends
no GPU time on them and also avoids a Triton 2.51 ensemble bug: a request that fails in a
step after the first stays counted as in flight forever (and holds up shutdown).
"""

from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from engines import limits, serving
from engines.schema import PlanRequest, SongMode, SongRequest

INPUTS = (
    "MODE",
    "DESCRIPTION",
    "PROMPT",
    "LYRICS",
    "INSTRUMENTAL",
    "DURATION_SECONDS",
    "SEED",
    "GUIDANCE_SCALE",
    "INFERENCE_STEPS",
)


class TritonPythonModel:
    def execute(self, requests: list[Any]) -> None:
        serving.execute_batched(
            pb_utils,
            requests,
            model="song_request",
            input_names=INPUTS,
            parse=_parse,
            run=enumerate,
            outputs=_outputs,
        )


def _parse(inputs: serving.Inputs) -> list[SongRequest]:
    return [
        SongRequest(
            plan=PlanRequest(
                mode=SongMode.parse(mode),
                description=description,
                prompt=prompt,
                lyrics=lyrics,
                instrumental=bool(instrumental),
            ),
            duration_seconds=duration,
            seed=seed,
            guidance_scale=guidance,
            inference_steps=steps,
        )
        for mode, description, prompt, lyrics, instrumental, duration, seed, guidance, steps in zip(
            inputs.texts("MODE", required=True),
            inputs.texts("DESCRIPTION"),
            inputs.texts("PROMPT"),
            inputs.texts("LYRICS"),
            inputs.values("INSTRUMENTAL", default=False),
            inputs.values("DURATION_SECONDS", default=limits.DEFAULT_DURATION_SECONDS),
            inputs.values("SEED", default=limits.DEFAULT_SEED),
            inputs.values("GUIDANCE_SCALE", default=limits.DEFAULT_GUIDANCE_SCALE),
            inputs.values("INFERENCE_STEPS", default=limits.DEFAULT_INFERENCE_STEPS),
            strict=True,
        )
    ]


def _outputs(songs: list[SongRequest]) -> list[Any]:
    def column(values: list[Any], dtype: type) -> np.ndarray:
        return np.array(values, dtype=dtype).reshape(len(values), 1)

    plans = [song.plan for song in songs]
    return [
        serving.text_tensor(pb_utils, "CHECKED_MODE", [plan.mode.value for plan in plans]),
        serving.text_tensor(pb_utils, "CHECKED_DESCRIPTION", [plan.description for plan in plans]),
        serving.text_tensor(pb_utils, "CHECKED_PROMPT", [plan.prompt for plan in plans]),
        serving.text_tensor(pb_utils, "CHECKED_LYRICS", [plan.lyrics for plan in plans]),
        pb_utils.Tensor(
            "CHECKED_INSTRUMENTAL", column([plan.instrumental for plan in plans], np.bool_)
        ),
        pb_utils.Tensor(
            "CHECKED_DURATION_SECONDS", column([s.duration_seconds for s in songs], np.float32)
        ),
        pb_utils.Tensor("CHECKED_SEED", column([s.seed for s in songs], np.int64)),
        pb_utils.Tensor(
            "CHECKED_GUIDANCE_SCALE", column([s.guidance_scale for s in songs], np.float32)
        ),
        pb_utils.Tensor(
            "CHECKED_INFERENCE_STEPS", column([s.inference_steps for s in songs], np.int32)
        ),
    ]
