"""The music generator: ACE-Step text-to-music through diffusers' `AceStepPipeline`.

Songs whose settings match (duration, steps, guidance) share one batched diffusion run; the
VAE then decodes the latents a few songs at a time, because on CPU the Oobleck decoder gets
slower per song in large batches while the diffusion gets cheaper (see DESIGN.md).
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from diffusers import AceStepPipeline

from engines.schema import MusicRequest

# ACE-Step's loudness convention: peak-normalize every song to -1 dBFS.
_TARGET_PEAK = 10.0 ** (-1.0 / 20.0)

GroupKey = tuple[float, int, float]


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

    def group_key(self, request: MusicRequest) -> GroupKey:
        """Requests with equal keys run as one diffusion batch."""
        # Turbo checkpoints ignore guidance, so it must not split their batches.
        guidance = 1.0 if self.pipeline.is_turbo else request.guidance_scale
        return (request.duration_seconds, request.inference_steps, guidance)

    def generate(self, requests: Sequence[MusicRequest]) -> list[np.ndarray]:
        """Returns one float32 array of shape (samples, channels) per request, in order."""
        songs = dict(self.stream(requests))
        return [songs[index] for index in range(len(requests))]

    def stream(self, requests: Sequence[MusicRequest]) -> Iterator[tuple[int, np.ndarray]]:
        """Yields (request index, song) as each song is decoded.

        A caller can then encode one song while the next one decodes (torch and libsndfile
        both release the GIL), rather than encoding them all after the last decode.
        """
        groups: dict[GroupKey, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(self.group_key(request), []).append(index)
        for (duration, steps, guidance), indices in groups.items():
            latents = self._diffuse([requests[i] for i in indices], duration, steps, guidance)
            samples = round(duration * self.sample_rate)
            for start in range(0, len(indices), self.decode_batch_size):
                chunk = latents[start : start + self.decode_batch_size].transpose(1, 2)
                # Per chunk, not around the loop: inference mode must not stay switched on
                # in the caller's code while this generator is suspended.
                with torch.inference_mode():
                    audio = self.pipeline.vae.decode(chunk.to(self.pipeline.vae.dtype)).sample
                    finished = [_finish(song, samples) for song in audio.float().cpu()]
                yield from zip(
                    indices[start : start + self.decode_batch_size], finished, strict=True
                )

    def _diffuse(
        self, batch: Sequence[MusicRequest], duration: float, steps: int, guidance: float
    ) -> torch.Tensor:
        """One batched diffusion run; returns latents of shape (songs, frames, channels)."""
        device = self.pipeline._execution_device
        with torch.inference_mode():
            return self.pipeline(
                prompt=[request.prompt for request in batch],
                lyrics=[request.lyrics for request in batch],
                audio_duration=duration,
                num_inference_steps=steps,
                guidance_scale=guidance,
                # One generator per song: a song's noise depends on its seed alone, not on
                # which other songs share its batch.
                generator=[torch.Generator(device).manual_seed(r.seed) for r in batch],
                output_type="latent",
            ).audios


def _finish(audio: torch.Tensor, samples: int) -> np.ndarray:
    """Normalizes one decoded song (channels, time) and fits it to exactly `samples` frames."""
    peak = audio.abs().max()
    if torch.isfinite(peak) and peak > 0:
        audio = audio * (_TARGET_PEAK / peak)
    audio = audio[:, :samples]
    if audio.shape[1] < samples:
        # The decoder can fall a few frames short of latent length x hop length.
        audio = torch.nn.functional.pad(audio, (0, samples - audio.shape[1]))
    return np.ascontiguousarray(audio.T.numpy(), dtype=np.float32)
