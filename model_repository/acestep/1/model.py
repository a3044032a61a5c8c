"""Triton adapter for the music generator engine (ACE-Step); see ../../README.md."""

import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

from engines import limits, runtime, serving
from engines.audio import AudioFormat, Clip, decode_audio, encode_audio
from engines.music import MusicGenerator, MusicSettings
from engines.schema import MusicalControls, MusicRequest, MusicTask, Stem

INPUTS = (
    "PROMPT",
    "LYRICS",
    "DURATION_SECONDS",
    "SEED",
    "GUIDANCE_SCALE",
    "INFERENCE_STEPS",
    "TASK",
    "SRC_AUDIO",
    "SRC_OFFSET_SECONDS",
    "REPAINT_START_SECONDS",
    "REPAINT_END_SECONDS",
    "COVER_STRENGTH",
    "TRACK",
    "REFERENCE_AUDIO",
    "BPM",
    "KEY_SCALE",
    "TIME_SIGNATURE",
    "VOCAL_LANGUAGE",
)


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        instance = runtime.prepare_instance(args)
        parameters, device = instance.parameters, instance.device
        self.generator = MusicGenerator.from_pretrained(
            parameters["weights_dir"],
            device=device,
            dtype=instance.dtype,
            settings=MusicSettings.from_parameters(parameters),
        )
        self.audio_format = AudioFormat(parameters["audio_format"])
        self.maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="songs")
        pb_utils.Logger.log_info(
            f"acestep: {parameters['weights_dir']} on {device}, "
            f"{'turbo, ' if self.generator.pipeline.is_turbo else ''}"
            f"{self.generator.sample_rate} Hz {self.audio_format.value}, {self.generator.settings}"
        )

    def execute(self, requests: list[Any]) -> None:
        serving.execute_batched(
            pb_utils,
            requests,
            model="acestep",
            input_names=INPUTS,
            parse=self._parse,
            run=self._generate,
            outputs=self._outputs,
        )

    def _parse(self, inputs: serving.Inputs) -> list[MusicRequest]:
        # Empty texts and zeros mean "not given": a client sends every input on every
        # request, because Triton batches only requests that send the same inputs.
        fields = {
            "prompt": inputs.texts("PROMPT"),
            "lyrics": inputs.texts("LYRICS"),
            "duration_seconds": inputs.values(
                "DURATION_SECONDS", default=limits.DEFAULT_DURATION_SECONDS
            ),
            "seed": inputs.values("SEED", default=limits.DEFAULT_SEED),
            "guidance_scale": inputs.values(
                "GUIDANCE_SCALE", default=limits.DEFAULT_GUIDANCE_SCALE
            ),
            "inference_steps": inputs.values(
                "INFERENCE_STEPS", default=limits.DEFAULT_INFERENCE_STEPS
            ),
            "task": [MusicTask.parse(task) for task in inputs.texts("TASK")],
            "source": [self._clip("SRC_AUDIO", data) for data in inputs.blobs("SRC_AUDIO")],
            "source_offset_seconds": inputs.values("SRC_OFFSET_SECONDS", default=0.0),
            "section_start_seconds": inputs.values("REPAINT_START_SECONDS", default=0.0),
            "section_end_seconds": inputs.values("REPAINT_END_SECONDS", default=0.0),
            "cover_strength": inputs.values("COVER_STRENGTH", default=1.0),
            "track": [
                Stem.parse(track) if track.strip() else None for track in inputs.texts("TRACK")
            ],
            "reference": [
                self._clip("REFERENCE_AUDIO", data) for data in inputs.blobs("REFERENCE_AUDIO")
            ],
            "controls": [
                MusicalControls(
                    bpm=bpm or None,
                    key_scale=key_scale.strip() or None,
                    time_signature=time_signature or None,
                    vocal_language=language.strip().lower() or None,
                )
                for bpm, key_scale, time_signature, language in zip(
                    inputs.values("BPM", default=0),
                    inputs.texts("KEY_SCALE"),
                    inputs.values("TIME_SIGNATURE", default=0),
                    inputs.texts("VOCAL_LANGUAGE"),
                    strict=True,
                )
            ],
        }
        requests = [
            MusicRequest(**dict(zip(fields, row, strict=True)))
            for row in zip(*fields.values(), strict=True)
        ]
        for request in requests:
            self.generator.check_supported(request)
        return requests

    def _clip(self, name: str, data: bytes) -> Clip | None:
        if not data:
            return None
        return decode_audio(
            data,
            sample_rate=self.generator.sample_rate,
            channels=self.generator.channels,
            input_name=name,
        )

    def _generate(self, batch: list[MusicRequest]) -> Iterator[tuple[int, bytes]]:
        """Yields (row, encoded song) as each song is ready. The songs are made on their own
        thread, so that each is encoded here, and its request answered, while the next ones
        are still being made: a short song does not wait for a longer one's diffusion."""
        made: queue.SimpleQueue[tuple[int, np.ndarray] | None] = queue.SimpleQueue()

        def make() -> None:
            try:
                for item in self.generator.stream(batch):
                    made.put(item)
            finally:
                made.put(None)

        making = self.maker.submit(make)
        try:
            while (item := made.get()) is not None:
                index, song = item
                yield index, encode_audio(song, self.generator.sample_rate, self.audio_format)
            making.result()  # the generator's error, if it failed
        finally:
            # One batch at a time on the instance: this one's songs are all made (or failed)
            # before the next execute starts, even when this one is abandoned.
            wait([making])

    def _outputs(self, encoded: list[bytes]) -> list[Any]:
        rates = np.full((len(encoded), 1), self.generator.sample_rate, dtype=np.int32)
        return [
            serving.text_tensor(pb_utils, "AUDIO", encoded),
            pb_utils.Tensor("SAMPLE_RATE", rates),
        ]

    def finalize(self) -> None:
        self.maker.shutdown()
        del self.generator
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
