"""Triton adapter for the music generator engine (ACE-Step); see ../../README.md."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

from engines import limits, runtime, serving
from engines.audio import AudioFormat, encode_audio
from engines.music import MusicGenerator
from engines.schema import MusicRequest

INPUTS = ("PROMPT", "LYRICS", "DURATION_SECONDS", "SEED", "GUIDANCE_SCALE", "INFERENCE_STEPS")


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        instance = runtime.prepare_instance(args)
        parameters, device = instance.parameters, instance.device
        self.generator = MusicGenerator.from_pretrained(
            parameters["weights_dir"],
            device=device,
            dtype=instance.dtype,
            decode_batch_size=int(parameters["decode_batch_size"]),
        )
        self.audio_format = AudioFormat(parameters["audio_format"])
        self.encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode")
        pb_utils.Logger.log_info(
            f"acestep: {parameters['weights_dir']} on {device}, "
            f"{self.generator.sample_rate} Hz {self.audio_format.value}"
        )

    def execute(self, requests: list[Any]) -> list[Any]:
        return serving.execute_batched(
            pb_utils,
            requests,
            model="acestep",
            input_names=INPUTS,
            parse=_parse,
            run=self._generate,
            outputs=self._outputs,
        )

    def _generate(self, batch: list[MusicRequest]) -> list[bytes]:
        # Each song is encoded on the encoder thread while the VAE decodes the next one.
        rate = self.generator.sample_rate
        encoded = {
            index: self.encoder.submit(encode_audio, song, rate, self.audio_format)
            for index, song in self.generator.stream(batch)
        }
        return [encoded[index].result() for index in range(len(batch))]

    def _outputs(self, encoded: list[bytes]) -> list[Any]:
        rates = np.full((len(encoded), 1), self.generator.sample_rate, dtype=np.int32)
        return [
            serving.text_tensor(pb_utils, "AUDIO", encoded),
            pb_utils.Tensor("SAMPLE_RATE", rates),
        ]

    def finalize(self) -> None:
        self.encoder.shutdown()
        del self.generator
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _parse(inputs: serving.Inputs) -> list[MusicRequest]:
    return [
        MusicRequest(
            prompt=prompt,
            lyrics=lyrics,
            duration_seconds=duration,
            seed=seed,
            guidance_scale=guidance,
            inference_steps=steps,
        )
        for prompt, lyrics, duration, seed, guidance, steps in zip(
            inputs.texts("PROMPT"),
            inputs.texts("LYRICS"),
            inputs.values("DURATION_SECONDS", default=limits.DEFAULT_DURATION_SECONDS),
            inputs.values("SEED", default=limits.DEFAULT_SEED),
            inputs.values("GUIDANCE_SCALE", default=limits.DEFAULT_GUIDANCE_SCALE),
            inputs.values("INFERENCE_STEPS", default=limits.DEFAULT_INFERENCE_STEPS),
            strict=True,
        )
    ]
