"""The music generator: ACE-Step through diffusers' `AceStepPipeline`, for every task a
song needs (text to music, repaint and extend, cover, stems).

Songs whose settings match (task, duration, steps, guidance, section, controls, reference)
share one batched diffusion run; the VAE then decodes the latents a few songs at a time,
because on CPU the Oobleck decoder gets slower per song in large batches while the diffusion
gets cheaper (see DESIGN.md).
"""

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AceStepPipeline, AutoencoderOobleck

from engines.limits import InvalidInputError
from engines.schema import MusicRequest, MusicTask, Stem

# ACE-Step's loudness convention: peak-normalize every song to -1 dBFS.
_TARGET_PEAK = 10.0 ** (-1.0 / 20.0)
# Where an edit's new part meets the kept audio, the kept side fades into the model's own
# rendition of it over this long: the model continues what it rendered, so the join has
# no seam, and the kept audio is the source's everywhere else.
CROSSFADE_SECONDS = 0.1
# The stems ACE-Step extracts by name; OTHER is the source less these.
_NAMED_STEMS = (Stem.VOCALS, Stem.DRUMS, Stem.BASS)

GroupKey = tuple[Any, ...]


class MusicGenerator:
    """Generates songs with ACE-Step; usable in-process or behind Triton."""

    def __init__(self, pipeline: AceStepPipeline, *, decode_batch_size: int = 1) -> None:
        if decode_batch_size < 1:
            raise ValueError(f"decode_batch_size must be at least 1 (got {decode_batch_size})")
        self.pipeline = pipeline
        self.pipeline.set_progress_bar_config(disable=True)
        self.decode_batch_size = decode_batch_size

    @classmethod
    def from_pretrained(
        cls,
        weights_dir: str | Path,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        decode_batch_size: int = 1,
    ) -> "MusicGenerator":
        pipeline = AceStepPipeline.from_pretrained(weights_dir, torch_dtype=dtype).to(device)
        return cls(pipeline, decode_batch_size=decode_batch_size)

    @property
    def sample_rate(self) -> int:
        return int(self.pipeline.sample_rate)

    @property
    def channels(self) -> int:
        return int(self.pipeline.vae.config.audio_channels)

    def check_supported(self, request: MusicRequest) -> None:
        """InvalidInputError when this checkpoint cannot do what `request` asks."""
        if request.task is MusicTask.EXTRACT and self.pipeline.is_turbo:
            raise InvalidInputError(
                "TASK", "extract needs ACE-Step's base checkpoint; this deployment runs turbo"
            )
        if request.task is MusicTask.COVER and self.pipeline.audio_tokenizer is None:
            raise InvalidInputError(
                "TASK", "cover needs a checkpoint with ACE-Step's audio tokenizer"
            )

    def group_key(self, request: MusicRequest) -> GroupKey:
        """Requests with equal keys run as one diffusion batch: the pipeline takes these
        settings once per call."""
        controls = request.controls
        return (
            request.task,
            request.duration_seconds,
            request.inference_steps,
            self._guidance(request),
            request.section_start_seconds,
            request.section_end_seconds,
            request.cover_strength,
            request.track,
            request.reference.digest if request.reference else None,
            controls.bpm,
            controls.key_scale,
            controls.time_signature,
        )

    def generate(self, requests: Sequence[MusicRequest]) -> list[np.ndarray]:
        """Returns one float32 array of shape (samples, channels) per request, in order."""
        songs = dict(self.stream(requests))
        return [songs[index] for index in range(len(requests))]

    def stream(self, requests: Sequence[MusicRequest]) -> Iterator[tuple[int, np.ndarray]]:
        """Yields (request index, song) as each song is decoded.

        A caller can then encode one song while the next one decodes (torch and libsndfile
        both release the GIL), rather than encoding them all after the last decode.
        """
        for request in requests:
            self.check_supported(request)
        # The rows to generate, each once: the OTHER stem needs its set's three named
        # stems, which the same batch usually asks for on their own too.
        rows: dict[MusicRequest, int] = {}
        needs = [
            [rows.setdefault(part, len(rows)) for part in _parts(request)] for request in requests
        ]
        made: dict[int, np.ndarray] = {}
        waiting = set(range(len(requests)))
        for row, audio in self._generate_rows(list(rows)):
            made[row] = audio
            for index in sorted(waiting):
                if all(part in made for part in needs[index]):
                    waiting.discard(index)
                    parts = [made[part] for part in needs[index]]
                    yield index, self._finish(requests[index], parts)

    def _generate_rows(self, rows: Sequence[MusicRequest]) -> Iterator[tuple[int, np.ndarray]]:
        """Yields (row index, raw audio of shape (channels, canvas frames))."""
        groups: dict[GroupKey, list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(self.group_key(row), []).append(index)
        for indices in groups.values():
            batch = [rows[i] for i in indices]
            frames = self._frames(batch[0].duration_seconds)
            latents = self._diffuse(batch, frames)
            for start in range(0, len(indices), self.decode_batch_size):
                chunk = latents[start : start + self.decode_batch_size].transpose(1, 2)
                # Per chunk, not around the loop: inference mode must not stay switched on
                # in the caller's code while this generator is suspended.
                with torch.inference_mode():
                    audio = self.pipeline.vae.decode(chunk.to(self.pipeline.vae.dtype)).sample
                    decoded = [_fit(song.float().cpu().numpy(), frames) for song in audio]
                yield from zip(
                    indices[start : start + self.decode_batch_size], decoded, strict=True
                )

    def _diffuse(self, batch: Sequence[MusicRequest], frames: int) -> torch.Tensor:
        """One batched diffusion run; returns latents of shape (songs, frames, channels)."""
        first = batch[0]
        device = self.pipeline._execution_device
        controls = first.controls
        task_inputs: dict[str, Any] = {}
        if first.task is not MusicTask.TEXT2MUSIC:
            canvases = np.stack([self._canvas(request, frames) for request in batch])
            task_inputs = {
                "task_type": first.task.value,
                "src_audio": torch.from_numpy(canvases),
                "audio_cover_strength": first.cover_strength,
            }
        if first.task is MusicTask.REPAINT:
            task_inputs |= {
                "repainting_start": first.section_start_seconds,
                "repainting_end": first.section_end_seconds,
            }
        if first.track is not None:
            task_inputs["track_name"] = first.track.value
        if first.reference is not None:
            task_inputs["reference_audio"] = torch.from_numpy(first.reference.samples)
        with torch.inference_mode(), _sources_encoded_to_their_mean(self.pipeline.vae):
            return self.pipeline(
                prompt=[request.prompt for request in batch],
                lyrics=[request.lyrics for request in batch],
                vocal_language=[request.controls.vocal_language or "en" for request in batch],
                audio_duration=first.duration_seconds,
                num_inference_steps=first.inference_steps,
                guidance_scale=self._guidance(first),
                bpm=controls.bpm,
                keyscale=controls.key_scale,
                timesignature=str(controls.time_signature) if controls.time_signature else None,
                # One generator per song: a song's noise depends on its seed alone, not on
                # which other songs share its batch.
                generator=[torch.Generator(device).manual_seed(r.seed) for r in batch],
                output_type="latent",
                **task_inputs,
            ).audios

    def _guidance(self, request: MusicRequest) -> float:
        # Turbo checkpoints ignore guidance, so it must not split their batches.
        return 1.0 if self.pipeline.is_turbo else request.guidance_scale

    def _frames(self, seconds: float) -> int:
        return round(seconds * self.sample_rate)

    def _canvas(self, request: MusicRequest, frames: int) -> np.ndarray:
        """The source placed in a silent canvas of the request's length."""
        assert request.source is not None  # MusicRequest requires one for every edit
        canvas = np.zeros((self.channels, frames), dtype=np.float32)
        offset = self._frames(request.source_offset_seconds)
        source = request.source.samples[:, : max(0, frames - offset)]
        canvas[:, offset : offset + source.shape[1]] = source
        return canvas

    def _finish(self, request: MusicRequest, parts: list[np.ndarray]) -> np.ndarray:
        """The song as delivered, shape (frames, channels)."""
        if request.task is MusicTask.EXTRACT:
            audio = self._stem(request, parts)
        elif request.task is MusicTask.REPAINT:
            audio = self._splice(request, _normalized(parts[0]))
        else:
            audio = _normalized(parts[0])
        return np.ascontiguousarray(audio.T, dtype=np.float32)

    def _stem(self, request: MusicRequest, parts: list[np.ndarray]) -> np.ndarray:
        """A stem is never louder than its source, so the four add up to it."""
        source = self._canvas(request, parts[0].shape[1])
        ceiling = float(np.abs(source).max())
        stems = [_limited(part, ceiling) for part in parts]
        if request.track is Stem.OTHER:
            return source - sum(stems)
        return stems[0]

    def _splice(self, request: MusicRequest, generated: np.ndarray) -> np.ndarray:
        """The source outside the section, the new audio inside it, at the source's level."""
        frames = generated.shape[1]
        source = self._canvas(request, frames)
        start = self._frames(request.section_start_seconds)
        end = min(frames, self._frames(request.section_end_seconds))
        fade = min(self._frames(CROSSFADE_SECONDS), start, frames - end)
        kept = np.ones(frames, dtype=bool)
        kept[start - fade : end + fade] = False
        # The model rendered the kept part too: matching that rendition's level to the
        # source's puts the new part at the level around it.
        generated = generated * _gain(source[:, kept], generated[:, kept])
        section = _limited(generated[:, start:end], 1.0)
        audio = source.copy()
        audio[:, start:end] = section
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32))
        if fade and start > 0:
            into = slice(start - fade, start)
            audio[:, into] = source[:, into] * (1 - ramp) + generated[:, into] * ramp
        if fade and end < frames:
            out_of = slice(end, end + fade)
            audio[:, out_of] = generated[:, out_of] * (1 - ramp) + source[:, out_of] * ramp
        return audio


@contextmanager
def _sources_encoded_to_their_mean(vae: AutoencoderOobleck) -> Iterator[None]:
    """The pipeline samples a source's latents from the VAE's posterior with the global
    random generator: its mean instead keeps a song a function of its request alone (its
    batch, a retry or the process's other work change nothing), and the source is
    conditioning, not something to vary."""
    encode = vae.encode

    def encode_to_mean(audio: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        encoded = encode(audio, *args, **kwargs)
        posterior = encoded.latent_dist
        posterior.sample = lambda generator=None: posterior.mean
        return encoded

    vae.encode = encode_to_mean
    try:
        yield
    finally:
        del vae.encode  # the class's own method again


def _parts(request: MusicRequest) -> list[MusicRequest]:
    """The rows a request is made of."""
    if request.track is Stem.OTHER:
        return [dataclasses.replace(request, track=stem) for stem in _NAMED_STEMS]
    return [request]


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    """Fits decoded audio (channels, time) to exactly `frames`: the decoder can fall a few
    frames short of latent length x hop length, or run past it."""
    audio = audio[:, :frames]
    if audio.shape[1] < frames:
        audio = np.pad(audio, ((0, 0), (0, frames - audio.shape[1])))
    return audio


def _normalized(audio: np.ndarray) -> np.ndarray:
    peak = float(np.abs(audio).max())
    if np.isfinite(peak) and peak > 0:
        return audio * (_TARGET_PEAK / peak)
    return audio


def _limited(audio: np.ndarray, ceiling: float) -> np.ndarray:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * (ceiling / peak) if peak > ceiling else audio


def _gain(reference: np.ndarray, rendition: np.ndarray) -> float:
    """How much louder `reference` is than `rendition` (RMS), within 20 dB either way."""
    reference_rms = float(np.sqrt(np.mean(np.square(reference)))) if reference.size else 0.0
    rendition_rms = float(np.sqrt(np.mean(np.square(rendition)))) if rendition.size else 0.0
    if reference_rms == 0 or rendition_rms == 0:
        return 1.0
    return float(np.clip(reference_rms / rendition_rms, 0.1, 10.0))
