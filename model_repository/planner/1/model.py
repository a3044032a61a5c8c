"""Triton adapter for the planner engine (Qwen chat model); see ../../README.md."""

from typing import Any

import torch
import triton_python_backend_utils as pb_utils

from engines import limits, runtime, serving
from engines.planner import Planner, PlannerSettings
from engines.schema import PlanRequest, SongMode, SongPlan

INPUTS = ("MODE", "DESCRIPTION", "PROMPT", "LYRICS", "INSTRUMENTAL", "DURATION_SECONDS", "SEED")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        instance = runtime.prepare_instance(args)
        parameters, device = instance.parameters, instance.device
        self.planner = Planner.from_pretrained(
            parameters["weights_dir"],
            device=device,
            dtype=instance.dtype,
            settings=PlannerSettings(
                prompt_tokens=int(parameters["prompt_tokens"]),
                lyrics_tokens=int(parameters["lyrics_tokens"]),
                lyrics_tokens_per_line=int(parameters["lyrics_tokens_per_line"]),
                title_tokens=int(parameters["title_tokens"]),
                temperature=float(parameters["temperature"]),
                top_p=float(parameters["top_p"]),
                repetition_penalty=float(parameters["repetition_penalty"]),
            ),
        )
        pb_utils.Logger.log_info(f"planner: {parameters['weights_dir']} on {device}")

    def execute(self, requests: list[Any]) -> None:
        serving.execute_batched(
            pb_utils,
            requests,
            model="planner",
            input_names=INPUTS,
            parse=_parse,
            run=lambda rows: enumerate(self.planner.plan(rows)),
            outputs=_outputs,
        )

    def finalize(self) -> None:
        del self.planner
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _parse(inputs: serving.Inputs) -> list[PlanRequest]:
    return [
        PlanRequest(
            mode=SongMode.parse(mode),
            description=description,
            prompt=prompt,
            lyrics=lyrics,
            instrumental=bool(instrumental),
            duration_seconds=duration,
            seed=seed,
        )
        for mode, description, prompt, lyrics, instrumental, duration, seed in zip(
            inputs.texts("MODE"),
            inputs.texts("DESCRIPTION"),
            inputs.texts("PROMPT"),
            inputs.texts("LYRICS"),
            inputs.values("INSTRUMENTAL", default=False),
            inputs.values("DURATION_SECONDS", default=limits.DEFAULT_DURATION_SECONDS),
            inputs.values("SEED", default=limits.DEFAULT_SEED),
            strict=True,
        )
    ]


def _outputs(plans: list[SongPlan]) -> list[Any]:
    return [
        serving.text_tensor(pb_utils, "PROMPT_USED", [plan.prompt for plan in plans]),
        serving.text_tensor(pb_utils, "LYRICS_USED", [plan.lyrics for plan in plans]),
        serving.text_tensor(pb_utils, "TITLE", [plan.title for plan in plans]),
        # Songs get 1-3 categories; rows of one request share a width, padded with "".
        serving.text_matrix(pb_utils, "CATEGORIES", [plan.categories for plan in plans]),
    ]
