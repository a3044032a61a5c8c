"""Building requests for the model tier the way the song worker does, and reading replies."""

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import soundfile
import tritonclient.grpc as grpcclient
from PIL import Image

Value = str | bytes | bool | float | int

DTYPES = {
    "MODE": "BYTES",
    "DESCRIPTION": "BYTES",
    "PROMPT": "BYTES",
    "LYRICS": "BYTES",
    "TITLE": "BYTES",
    "INSTRUMENTAL": "BOOL",
    "DURATION_SECONDS": "FP32",
    "SEED": "INT64",
    "GUIDANCE_SCALE": "FP32",
    "INFERENCE_STEPS": "INT32",
}
NUMPY = {"BYTES": np.object_, "BOOL": np.bool_, "FP32": np.float32, "INT64": np.int64}
NUMPY |= {"INT32": np.int32, "FP64": np.float64}


def tensor(
    name: str, value: Value | np.ndarray, datatype: str | None = None
) -> grpcclient.InferInput:
    datatype = datatype or DTYPES[name]
    if isinstance(value, np.ndarray):
        array = value
    else:
        value = value.encode() if isinstance(value, str) else value
        array = np.array([[value]], dtype=NUMPY[datatype])
    infer_input = grpcclient.InferInput(name, list(array.shape), datatype)
    infer_input.set_data_from_numpy(array)
    return infer_input


def song_inputs(values: Mapping[str, Value]) -> list[grpcclient.InferInput]:
    return [tensor(name, value) for name, value in values.items()]


@dataclass(frozen=True)
class Song:
    audio: bytes
    samples: np.ndarray
    sample_rate: int
    reported_rate: int
    cover: Image.Image
    categories: list[str]
    title: str
    prompt: str
    lyrics: str

    @classmethod
    def of(cls, result: grpcclient.InferResult) -> "Song":
        audio = result.as_numpy("AUDIO")[0, 0]
        samples, sample_rate = soundfile.read(io.BytesIO(audio), dtype="float32")
        cover = Image.open(io.BytesIO(result.as_numpy("COVER_PNG")[0, 0]))
        cover.load()
        return cls(
            audio=audio,
            samples=samples,
            sample_rate=sample_rate,
            reported_rate=int(result.as_numpy("SAMPLE_RATE")[0, 0]),
            cover=cover,
            categories=[c.decode() for c in result.as_numpy("CATEGORIES")[0] if c],
            title=result.as_numpy("TITLE")[0, 0].decode(),
            prompt=result.as_numpy("PROMPT_USED")[0, 0].decode(),
            lyrics=result.as_numpy("LYRICS_USED")[0, 0].decode(),
        )

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate
