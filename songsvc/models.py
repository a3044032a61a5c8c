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
from opentelemetry.trace import SpanKind
from tritonclient.utils import InferenceServerException

from runtime.clients import RECONNECT_OPTIONS
from runtime.context import current_call
from runtime.tracing import outgoing_headers, tracer
from songsvc.records import Mode, Song, StemName, Task

# gRPC status codes as tritonclient spells them.
UNAVAILABLE_STATUS = "StatusCode.UNAVAILABLE"
DEADLINE_EXCEEDED_STATUS = "StatusCode.DEADLINE_EXCEEDED"
INVALID_ARGUMENT_STATUS = "StatusCode.INVALID_ARGUMENT"


class ModelUnavailable(Exception):
    """Triton could not be reached: the job waits for it without using an attempt."""


class ModelError(Exception):
    """Triton refused or failed the request; the message names the input."""


class ModelRefused(ModelError):
    """Triton refused the request as invalid: no attempt would fare better."""


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


@dataclass(frozen=True, slots=True)
class Sources:
    """The audio files a song is made from: the source of an edit and the style
    reference, as stored (b"" for none)."""

    source: bytes = b""
    reference: bytes = b""


# acestep's TASK for each kind of song; an extension is a repaint of the new part.
MODEL_TASKS = {
    Task.TEXT_TO_MUSIC: "text2music",
    Task.EXTEND: "repaint",
    Task.REPAINT: "repaint",
    Task.COVER: "cover",
    Task.STEMS: "extract",
}


class ModelTier(Protocol):
    async def plan(self, song: Song) -> Plan: ...

    async def compose(
        self, song: Song, sources: Sources, *, stem: StemName | None = None
    ) -> Audio: ...

    async def paint(self, song: Song) -> bytes: ...


def _text(name: str, value: str) -> triton.InferInput:
    return _blob(name, value.encode())


def _blob(name: str, value: bytes) -> triton.InferInput:
    tensor = triton.InferInput(name, [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[value]], dtype=np.object_))
    return tensor


def _scalar(name: str, value: float | int | bool, datatype: str, dtype: type) -> triton.InferInput:
    tensor = triton.InferInput(name, [1, 1], datatype)
    tensor.set_data_from_numpy(np.array([[value]], dtype=dtype))
    return tensor


def _texts(result: triton.InferResult, name: str) -> list[str]:
    values = result.as_numpy(name)
    return [value.decode() for value in np.asarray(values).reshape(-1)]


def _plan(result: triton.InferResult) -> Plan:
    return Plan(
        prompt=_texts(result, "PROMPT_USED")[0],
        lyrics=_texts(result, "LYRICS_USED")[0],
        title=_texts(result, "TITLE")[0],
        categories=tuple(name for name in _texts(result, "CATEGORIES") if name),
    )


def triton_channel_args() -> list[tuple[str, int | str]]:
    """tritonclient's own channel arguments, and each request to the next of the addresses
    the URL resolves to: with a headless Service (dns:///<triton>:8001) a worker's requests
    spread over every Triton pod, so their dynamic batches fill evenly."""
    keepalive = triton.KeepAliveOptions()
    return [
        ("grpc.max_send_message_length", triton.MAX_GRPC_MESSAGE_SIZE),
        ("grpc.max_receive_message_length", triton.MAX_GRPC_MESSAGE_SIZE),
        ("grpc.keepalive_time_ms", keepalive.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", keepalive.keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", keepalive.keepalive_permit_without_calls),
        ("grpc.http2.max_pings_without_data", keepalive.http2_max_pings_without_data),
        ("grpc.lb_policy_name", "round_robin"),
        *RECONNECT_OPTIONS,
    ]


class TritonModels:
    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self._client = triton_aio.InferenceServerClient(url, channel_args=triton_channel_args())
        self._timeout = timeout_seconds

    async def close(self) -> None:
        await self._client.close()

    async def _infer(
        self,
        model: str,
        inputs: list[triton.InferInput],
        *,
        request_id: str,
        timeout_seconds: float | None = None,
    ) -> triton.InferResult:
        call = current_call()
        timeout = self._timeout if timeout_seconds is None else timeout_seconds
        try:
            with tracer.start_as_current_span(
                f"triton {model}", kind=SpanKind.CLIENT, attributes={"neutone.model": model}
            ):
                # Triton continues a `traceparent` header when it runs with
                # --trace-config mode=opentelemetry (the README's Tracing section).
                headers = outgoing_headers()
                if call is not None:
                    headers["x-request-id"] = call.request_id
                return await self._client.infer(
                    model,
                    inputs,
                    request_id=request_id,
                    client_timeout=timeout,
                    headers=headers or None,
                )
        except InferenceServerException as error:
            if error.status() == UNAVAILABLE_STATUS:
                raise ModelUnavailable(f"{model}: {error.message()}") from error
            if error.status() == INVALID_ARGUMENT_STATUS:
                raise ModelRefused(f"{model}: {error.message()}") from error
            if error.status() == DEADLINE_EXCEEDED_STATUS:
                raise ModelTimeout(f"{model} did not answer within {timeout:g} s") from error
            raise ModelError(f"{model}: {error.message()}") from error
        except TimeoutError as error:
            raise ModelTimeout(f"{model} did not answer within {timeout:g} s") from error
        except OSError as error:
            raise ModelUnavailable(f"{model}: {error}") from error

    async def plan(self, song: Song) -> Plan:
        result = await self._infer(
            "planner",
            [
                _text("MODE", song.mode.value),
                _text("DESCRIPTION", song.description),
                _text("PROMPT", song.prompt),
                _text("LYRICS", song.lyrics_input),
                _scalar("INSTRUMENTAL", song.instrumental, "BOOL", np.bool_),
                # The written lyrics follow the duration; the seed picks among them.
                _scalar("DURATION_SECONDS", song.duration_seconds, "FP32", np.float32),
                _scalar("SEED", song.seed, "INT64", np.int64),
            ],
            request_id=str(song.id),
        )
        return _plan(result)

    async def suggest_lyrics(
        self,
        *,
        description: str,
        prompt: str,
        duration_seconds: float,
        seed: int,
        request_id: str,
        timeout_seconds: float,
    ) -> Plan:
        """The planner's style prompt (the given one, if any), lyrics and title for a
        song described by `description`, as it would plan a song, without making one."""
        mode = Mode.DESCRIBED_LYRICS if prompt else Mode.DESCRIPTION
        # The inputs plan() sends, so that suggestions and songs batch together.
        result = await self._infer(
            "planner",
            [
                _text("MODE", mode.value),
                _text("DESCRIPTION", "" if prompt else description),
                _text("PROMPT", prompt),
                _text("LYRICS", description if prompt else ""),
                _scalar("INSTRUMENTAL", False, "BOOL", np.bool_),
                _scalar("DURATION_SECONDS", duration_seconds, "FP32", np.float32),
                _scalar("SEED", seed, "INT64", np.int64),
            ],
            request_id=request_id,
            timeout_seconds=timeout_seconds,
        )
        return _plan(result)

    async def compose(self, song: Song, sources: Sources, *, stem: StemName | None = None) -> Audio:
        """The song's audio (or one stem of a STEMS song)."""
        # An extension before the start leaves the source after the new part.
        extended_before = song.task is Task.EXTEND and song.section_start_seconds == 0
        # Every input on every request (empty or 0 when not used): Triton batches only
        # requests that send the same inputs.
        result = await self._infer(
            "acestep",
            [
                _text("PROMPT", song.prompt_used or song.prompt),
                _text("LYRICS", "" if song.instrumental else song.lyrics_used or ""),
                _scalar("DURATION_SECONDS", song.duration_seconds, "FP32", np.float32),
                _scalar("SEED", song.seed, "INT64", np.int64),
                _scalar("GUIDANCE_SCALE", song.guidance_scale, "FP32", np.float32),
                _scalar("INFERENCE_STEPS", song.inference_steps, "INT32", np.int32),
                _text("TASK", MODEL_TASKS[song.task]),
                _blob("SRC_AUDIO", sources.source),
                _scalar(
                    "SRC_OFFSET_SECONDS",
                    song.section_end_seconds if extended_before else 0.0,
                    "FP32",
                    np.float32,
                ),
                _scalar("REPAINT_START_SECONDS", song.section_start_seconds, "FP32", np.float32),
                _scalar("REPAINT_END_SECONDS", song.section_end_seconds, "FP32", np.float32),
                _scalar(
                    "COVER_STRENGTH",
                    1.0 if song.cover_strength is None else song.cover_strength,
                    "FP32",
                    np.float32,
                ),
                _text("TRACK", stem or ""),
                _blob("REFERENCE_AUDIO", sources.reference),
                _scalar("BPM", song.bpm or 0, "INT32", np.int32),
                _text("KEY_SCALE", song.key_scale or ""),
                _scalar("TIME_SIGNATURE", song.time_signature or 0, "INT32", np.int32),
                _text("VOCAL_LANGUAGE", song.vocal_language or ""),
            ],
            request_id=str(song.id),
        )
        data = np.asarray(result.as_numpy("AUDIO")).reshape(-1)[0]
        return Audio(data=data, duration_seconds=soundfile.info(io.BytesIO(data)).duration)

    async def paint(self, song: Song) -> bytes:
        result = await self._infer(
            "cover",
            [
                _text("TITLE", song.title),
                _text("PROMPT", song.prompt_used or song.prompt),
                _scalar("SEED", song.seed, "INT64", np.int64),
            ],
            request_id=str(song.id),
        )
        return np.asarray(result.as_numpy("COVER_PNG")).reshape(-1)[0]
