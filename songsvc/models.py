"""The worker's client of the model tier: Triton's planner, acestep and cover
models over tritonclient's asyncio gRPC API (tensors: model_repository/README.md).

The worker calls the three models itself rather than the neutone_song ensemble,
so that each stage is visible to WatchSong and the plan (title, lyrics,
categories) is saved before the costly music step: a retried job does not plan
again, and the song keeps the lyrics it was first given."""

import io
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soundfile
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException

from runtime.context import current_call
from songsvc.records import Song

# gRPC status codes as tritonclient spells them.
UNAVAILABLE_STATUS = "StatusCode.UNAVAILABLE"
DEADLINE_EXCEEDED_STATUS = "StatusCode.DEADLINE_EXCEEDED"


class ModelUnavailable(Exception):
    """Triton could not be reached: the job waits for it without using an attempt."""


class ModelError(Exception):
    """Triton refused or failed the request; the message names the input."""


class ModelTimeout(ModelError):
    """Triton did not answer in time. This uses an attempt: a request that is too
    slow every time must end, not be retried forever."""


@dataclass(frozen=True, slots=True)
class Plan:
    prompt: str
    lyrics: str
    title: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Audio:
    data: bytes
    duration_seconds: float


class ModelTier(Protocol):
    async def plan(self, song: Song) -> Plan: ...

    async def compose(self, song: Song) -> Audio: ...

    async def paint(self, song: Song) -> bytes: ...


def _text(name: str, value: str) -> triton.InferInput:
    tensor = triton.InferInput(name, [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[value.encode()]], dtype=np.object_))
    return tensor


def _scalar(name: str, value: float | int | bool, datatype: str, dtype: type) -> triton.InferInput:
    tensor = triton.InferInput(name, [1, 1], datatype)
    tensor.set_data_from_numpy(np.array([[value]], dtype=dtype))
    return tensor


def _texts(result: triton.InferResult, name: str) -> list[str]:
    values = result.as_numpy(name)
    return [value.decode() for value in np.asarray(values).reshape(-1)]


class TritonModels:
    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self._client = triton_aio.InferenceServerClient(url)
        self._timeout = timeout_seconds

    async def close(self) -> None:
        await self._client.close()

    async def _infer(
        self, model: str, song: Song, inputs: list[triton.InferInput]
    ) -> triton.InferResult:
        call = current_call()
        try:
            return await self._client.infer(
                model,
                inputs,
                request_id=str(song.id),
                client_timeout=self._timeout,
                headers={"x-request-id": call.request_id} if call else None,
            )
        except InferenceServerException as error:
            if error.status() == UNAVAILABLE_STATUS:
                raise ModelUnavailable(f"{model}: {error.message()}") from error
            if error.status() == DEADLINE_EXCEEDED_STATUS:
                raise ModelTimeout(f"{model} did not answer within {self._timeout:g} s") from error
            raise ModelError(f"{model}: {error.message()}") from error
        except TimeoutError as error:
            raise ModelTimeout(f"{model} did not answer within {self._timeout:g} s") from error
        except OSError as error:
            raise ModelUnavailable(f"{model}: {error}") from error

    async def plan(self, song: Song) -> Plan:
        result = await self._infer(
            "planner",
            song,
            [
                _text("MODE", song.mode.value),
                _text("DESCRIPTION", song.description),
                _text("PROMPT", song.prompt),
                _text("LYRICS", song.lyrics_input),
                _scalar("INSTRUMENTAL", song.instrumental, "BOOL", np.bool_),
            ],
        )
        return Plan(
            prompt=_texts(result, "PROMPT_USED")[0],
            lyrics=_texts(result, "LYRICS_USED")[0],
            title=_texts(result, "TITLE")[0],
            categories=tuple(name for name in _texts(result, "CATEGORIES") if name),
        )

    async def compose(self, song: Song) -> Audio:
        result = await self._infer(
            "acestep",
            song,
            [
                _text("PROMPT", song.prompt_used or song.prompt),
                _text("LYRICS", "" if song.instrumental else song.lyrics_used or ""),
                _scalar("DURATION_SECONDS", song.duration_seconds, "FP32", np.float32),
                _scalar("SEED", song.seed, "INT64", np.int64),
                _scalar("GUIDANCE_SCALE", song.guidance_scale, "FP32", np.float32),
                _scalar("INFERENCE_STEPS", song.inference_steps, "INT32", np.int32),
            ],
        )
        data = np.asarray(result.as_numpy("AUDIO")).reshape(-1)[0]
        return Audio(data=data, duration_seconds=soundfile.info(io.BytesIO(data)).duration)

    async def paint(self, song: Song) -> bytes:
        result = await self._infer(
            "cover",
            song,
            [
                _text("TITLE", song.title),
                _text("PROMPT", song.prompt_used or song.prompt),
                _scalar("SEED", song.seed, "INT64", np.int64),
            ],
        )
        return np.asarray(result.as_numpy("COVER_PNG")).reshape(-1)[0]
