"""The cover artist: SDXL-Turbo through diffusers, one PNG per song.

SDXL-Turbo is distilled for 1-4 steps without classifier-free guidance, so a batch of covers
costs a handful of UNet passes.
"""

import io
from collections.abc import Sequence
from pathlib import Path

import torch
from diffusers import StableDiffusionXLPipeline
from PIL.Image import Image

from engines import checkpoints
from engines.schema import CoverRequest

MIN_STEPS = 1
MAX_STEPS = 4


class CoverArtist:
    """Paints square cover images; usable in-process or behind Triton."""

    def __init__(
        self,
        pipeline: StableDiffusionXLPipeline,
        *,
        inference_steps: int = 1,
        image_size: int | None = None,
    ) -> None:
        if not MIN_STEPS <= inference_steps <= MAX_STEPS:
            raise ValueError(
                f"inference_steps must be between {MIN_STEPS} and {MAX_STEPS} "
                f"(got {inference_steps})"
            )
        self.pipeline = pipeline
        self.pipeline.set_progress_bar_config(disable=True)
        self.inference_steps = inference_steps
        # The checkpoint's native resolution unless configured otherwise (512 for SDXL-Turbo).
        self.image_size = image_size or pipeline.default_sample_size * pipeline.vae_scale_factor

    @classmethod
    def from_pretrained(
        cls,
        weights_dir: str | Path,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        inference_steps: int = 1,
        image_size: int | None = None,
    ) -> "CoverArtist":
        pipeline = checkpoints.load_pipeline(
            StableDiffusionXLPipeline,
            weights_dir,
            device=device,
            dtype=dtype,
            add_watermarker=False,
        )
        return cls(pipeline, inference_steps=inference_steps, image_size=image_size)

    def paint(self, requests: Sequence[CoverRequest]) -> list[bytes]:
        """Returns one PNG per request, in order."""
        if not requests:
            return []
        device = self.pipeline._execution_device
        with torch.inference_mode():
            images = self.pipeline(
                prompt=[cover_prompt(request) for request in requests],
                num_inference_steps=self.inference_steps,
                guidance_scale=0.0,
                height=self.image_size,
                width=self.image_size,
                generator=[torch.Generator(device).manual_seed(r.seed) for r in requests],
            ).images
        return [_png(image) for image in images]


def cover_prompt(request: CoverRequest) -> str:
    """An image of the music's mood and style; the title stays out of it.

    A title in the prompt (quoted above all) invites SDXL to letter it, garbled. A negative
    prompt cannot keep text out either: SDXL-Turbo runs without classifier-free guidance,
    which is what would apply one. So the prompt names no words to paint, and opens with the
    kind of image, as CLIP reads only its first 77 tokens.
    """
    return (
        "Painterly square artwork, atmospheric, cinematic light, rich colours, "
        f"evoking the mood of this music: {request.prompt}"
    )


def _png(image: Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
