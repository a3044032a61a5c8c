"""The music generator: ACE-Step through diffusers' `AceStepPipeline`, for every task a
song needs (text to music, repaint and extend, cover, stems).

Songs whose settings match (task, duration bucket, steps, guidance, section, controls,
reference) share one batched diffusion run; the VAE then decodes the latents a few songs at a
time, because on CPU the Oobleck decoder gets slower per song in large batches while the
diffusion gets cheaper (see DESIGN.md). Long songs decode in overlapping windows, so the
decoder's memory stays that of one window whatever the song's length.
"""

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AceStepPipeline, AutoencoderOobleck

from engines import checkpoints
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class MusicSettings:
    """How the generator batches, decodes and limits songs: the acestep model's config
    parameters (model_repository/acestep/config.pbtxt)."""

    # Songs the VAE decodes at once.
    decode_batch_size: int = 1
    # Text-to-music songs diffuse on a canvas as long as the shortest edge at or above their
    # duration and are cut to it, so songs of different lengths share a batch. A song is
    # then its bucket's canvas cut short, whichever songs share its batch. Empty: songs
    # batch only with songs of their exact length.
    duration_buckets: tuple[float, ...] = (30.0, 60.0, 120.0, 240.0)
    # Latents longer than this decode in windows of this length, each with this much of
    # its neighbours' latents on either side as context (cut after decoding): the Oobleck
    # decoder's memory grows with the length it decodes at once (python -m bench.vae_tiling:
    # ACE-Step 1.5's takes 2.7 GiB for 20 s in one pass on the CPU, 0.8 GiB in 5 s windows).
    # None: one pass, whatever the length.
    vae_tile_seconds: float | None = 30.0
    vae_tile_overlap_seconds: float = 2.0
    # Turbo checkpoints have guidance distilled into 8 steps (ACE-Step 1.5's inference
    # docs: "Turbo model: 1-8 (recommended 8)"); more steps only cost time.
    turbo_max_inference_steps: int = 8

    def __post_init__(self) -> None:
        if self.decode_batch_size < 1:
            raise ValueError(f"decode_batch_size must be at least 1 (got {self.decode_batch_size})")
        buckets = self.duration_buckets
        if any(edge <= 0 for edge in buckets) or list(buckets) != sorted(set(buckets)):
            raise ValueError(
                f"duration_buckets must be positive and ascending (got {list(buckets)})"
            )
        if self.vae_tile_overlap_seconds < 0:
            raise ValueError(
                f"vae_tile_overlap_seconds must not be negative (got {self.vae_tile_overlap_seconds})"
            )
        tile = self.vae_tile_seconds
        if tile is not None and tile <= 2 * self.vae_tile_overlap_seconds:
            raise ValueError(
                f"vae_tile_seconds must be more than twice vae_tile_overlap_seconds "
                f"(got {tile} and {self.vae_tile_overlap_seconds})"
            )
        if self.turbo_max_inference_steps < 1:
            raise ValueError(
                "turbo_max_inference_steps must be at least 1 "
                f"(got {self.turbo_max_inference_steps})"
            )

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> "MusicSettings":
        """From the model config's parameters; those not given keep their defaults.
        `duration_buckets` is comma-separated seconds ("" for none), and a
        `vae_tile_seconds` of 0 decodes in one pass."""
        values: dict[str, Any] = {}
        if "decode_batch_size" in parameters:
            values["decode_batch_size"] = int(parameters["decode_batch_size"])
        if "duration_buckets" in parameters:
            edges = parameters["duration_buckets"].split(",")
            values["duration_buckets"] = tuple(float(edge) for edge in edges if edge.strip())
        if "vae_tile_seconds" in parameters:
            values["vae_tile_seconds"] = float(parameters["vae_tile_seconds"]) or None
        if "vae_tile_overlap_seconds" in parameters:
            values["vae_tile_overlap_seconds"] = float(parameters["vae_tile_overlap_seconds"])
        if "turbo_max_inference_steps" in parameters:
            values["turbo_max_inference_steps"] = int(parameters["turbo_max_inference_steps"])
        return cls(**values)


class MusicGenerator:
    """Generates songs with ACE-Step; usable in-process or behind Triton."""

    def __init__(self, pipeline: AceStepPipeline, settings: MusicSettings | None = None) -> None:
        self.pipeline = pipeline
        self.pipeline.set_progress_bar_config(disable=True)
        self.settings = settings or MusicSettings()
        configure_vae_tiling(self.pipeline.vae, self.settings)

    @classmethod
    def from_pretrained(
        cls,
        weights_dir: str | Path,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        settings: MusicSettings | None = None,
    ) -> "MusicGenerator":
        pipeline = checkpoints.load_pipeline(
            AceStepPipeline, weights_dir, device=device, dtype=dtype
        )
        return cls(pipeline, settings)

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
        steps = self.settings.turbo_max_inference_steps
        if self.pipeline.is_turbo and request.inference_steps > steps:
            raise InvalidInputError(
                "INFERENCE_STEPS",
                f"must be at most {steps} (got {request.inference_steps}): turbo checkpoint: "
                f"its guidance is distilled into {steps} steps, more only cost time",
            )

    def group_key(self, request: MusicRequest) -> GroupKey:
        """Requests with equal keys run as one diffusion batch: the pipeline takes these
        settings once per call."""
        controls = request.controls
        return (
            request.task,
            self._canvas_seconds(request),
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
        """Yields (row index, raw audio of shape (channels, the row's frames)).

        Shorter canvases run first, so their songs are ready first.
        """
        groups: dict[GroupKey, list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(self.group_key(row), []).append(index)
        for indices in sorted(
            groups.values(), key=lambda group: self._canvas_seconds(rows[group[0]])
        ):
            # Songs of one length next to each other, so they decode together.
            indices.sort(key=lambda index: rows[index].duration_seconds)
            batch = [rows[i] for i in indices]
            latents = self._diffuse(batch, self._canvas_seconds(batch[0]))
            yield from self._decode(indices, batch, latents)

    def _decode(
        self, indices: Sequence[int], batch: Sequence[MusicRequest], latents: torch.Tensor
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Decodes each song's own part of the canvas, up to `decode_batch_size` songs of one
        length at a time: a song decodes as it would alone, whatever its neighbours."""
        lengths = [self._latent_frames(request.duration_seconds) for request in batch]
        size = self.settings.decode_batch_size
        for length, same_length in itertools.groupby(range(len(batch)), key=lengths.__getitem__):
            positions = list(same_length)
            for chunk in (
                positions[start : start + size] for start in range(0, len(positions), size)
            ):
                songs = latents[chunk, :length].transpose(1, 2)
                # Per chunk, not around the loop: inference mode must not stay switched on
                # in the caller's code while this generator is suspended.
                with torch.inference_mode():
                    audio = self.pipeline.vae.decode(songs.to(self.pipeline.vae.dtype)).sample
                    decoded = [
                        _fit(
                            song.float().cpu().numpy(),
                            self._frames(batch[position].duration_seconds),
                        )
                        for song, position in zip(audio, chunk, strict=True)
                    ]
                yield from zip((indices[position] for position in chunk), decoded, strict=True)

    def _diffuse(self, batch: Sequence[MusicRequest], seconds: float) -> torch.Tensor:
        """One batched diffusion run on a canvas of `seconds`; returns latents of shape
        (songs, latent frames, channels)."""
        first = batch[0]
        device = self.pipeline._execution_device
        controls = first.controls
        task_inputs: dict[str, Any] = {}
        if first.task is not MusicTask.TEXT2MUSIC:
            frames = self._frames(seconds)
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
        with (
            torch.inference_mode(),
            _sources_encoded_to_their_mean(self.pipeline.vae),
            _prompts_state_their_own_durations(self.pipeline, batch),
        ):
            return self.pipeline(
                prompt=[request.prompt for request in batch],
                lyrics=[request.lyrics for request in batch],
                vocal_language=[request.controls.vocal_language or "en" for request in batch],
                audio_duration=seconds,
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

    def _canvas_seconds(self, request: MusicRequest) -> float:
        """How long the canvas a song diffuses on is. Edits keep their own length: their
        source and section sit in the song's timeline, and an extension must end where the
        song does, not be cut."""
        if request.task is MusicTask.TEXT2MUSIC:
            for edge in self.settings.duration_buckets:
                if request.duration_seconds <= edge:
                    return edge
        return request.duration_seconds

    def _frames(self, seconds: float) -> int:
        return round(seconds * self.sample_rate)

    def _latent_frames(self, seconds: float) -> int:
        # As the pipeline sizes its latents.
        return math.ceil(seconds * self.pipeline.latents_per_second)

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


def configure_vae_tiling(vae: AutoencoderOobleck, settings: MusicSettings) -> None:
    """diffusers' Oobleck VAE decodes (and encodes) long audio in overlapping windows,
    each cut to its core after decoding, once tiling is on; the window sizes are its
    attributes, in latent frames and in samples."""
    tile_seconds = settings.vae_tile_seconds
    if tile_seconds is None:
        vae.disable_tiling()
        return
    rate = vae.config.sampling_rate
    latents_per_second = rate / math.prod(vae.config.downsampling_ratios)
    overlap_seconds = settings.vae_tile_overlap_seconds
    vae.enable_tiling()
    vae.tile_latent_min_length = math.ceil(tile_seconds * latents_per_second)
    vae.tile_latent_overlap = math.ceil(overlap_seconds * latents_per_second)
    vae.tile_sample_min_length = round(tile_seconds * rate)
    vae.tile_sample_overlap = round(overlap_seconds * rate)


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


@contextmanager
def _prompts_state_their_own_durations(
    pipeline: AceStepPipeline, batch: Sequence[MusicRequest]
) -> Iterator[None]:
    """The pipeline writes one duration, its canvas's, into every song's prompt; each song's
    prompt states its own instead, so the model composes for the song's length, not for
    the bucket it shares with longer songs."""
    format_prompt = pipeline._format_prompt
    # The pipeline formats its songs in batch order (once more for a cover's text-only
    # condition), with keyword arguments.
    songs = itertools.cycle(batch)

    def format_with_own_duration(**kwargs: Any) -> tuple[str, str]:
        song = next(songs)
        if (kwargs["prompt"], kwargs["lyrics"]) != (song.prompt, song.lyrics):
            raise RuntimeError("AceStepPipeline formatted its prompts out of batch order")
        return format_prompt(**{**kwargs, "audio_duration": song.duration_seconds})

    pipeline._format_prompt = format_with_own_duration
    try:
        yield
    finally:
        del pipeline._format_prompt  # the class's own method again


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
