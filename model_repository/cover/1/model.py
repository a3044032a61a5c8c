"""Triton adapter for the cover artist engine (SDXL-Turbo); see ../../README.md."""

from typing import Any

import torch
import triton_python_backend_utils as pb_utils

from engines import limits, runtime, serving
from engines.cover import CoverArtist
from engines.schema import CoverRequest

INPUTS = ("TITLE", "PROMPT", "SEED")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        instance = runtime.prepare_instance(args)
        parameters, device = instance.parameters, instance.device
        self.artist = CoverArtist.from_pretrained(
            parameters["weights_dir"],
            device=device,
            dtype=instance.dtype,
            inference_steps=int(parameters["inference_steps"]),
            # Empty: the checkpoint's native resolution.
            image_size=int(parameters["image_size"]) if parameters["image_size"] else None,
        )
        pb_utils.Logger.log_info(
            f"cover: {parameters['weights_dir']} on {device}, {self.artist.image_size}px"
        )

    def execute(self, requests: list[Any]) -> None:
        serving.execute_batched(
            pb_utils,
            requests,
            model="cover",
            input_names=INPUTS,
            parse=_parse,
            run=lambda rows: enumerate(self.artist.paint(rows)),
            outputs=lambda pngs: [serving.text_tensor(pb_utils, "COVER_PNG", pngs)],
        )

    def finalize(self) -> None:
        del self.artist
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _parse(inputs: serving.Inputs) -> list[CoverRequest]:
    return [
        CoverRequest(title=title, prompt=prompt, seed=seed)
        for title, prompt, seed in zip(
            inputs.texts("TITLE"),
            inputs.texts("PROMPT"),
            inputs.values("SEED", default=limits.DEFAULT_SEED),
            strict=True,
        )
    ]
