"""The full-size recipes (used by the GPU benchmark) at least build with the real sizes."""

import pytest
import torch

from engines import random_models
from engines.random_models import ModelSize


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", list(ModelSize))
def test_recipes_build(size: ModelSize) -> None:
    # The meta device allocates nothing, so even 7B parameters build in seconds.
    with torch.device("meta"):
        planner, tokenizer = random_models.build_planner(size, seed=0)
        acestep = random_models.build_acestep(size, seed=0)
        cover = random_models.build_cover(size, seed=0)
    assert planner.config.vocab_size >= len(tokenizer)
    if size is ModelSize.FULL:
        assert 7.0e9 < parameters(planner) < 8.0e9  # Qwen2.5-7B
        assert 2.4e9 < parameters(cover.unet) < 2.7e9  # SDXL UNet
        assert acestep.sample_rate == 48000
        assert acestep.latents_per_second == 25
        assert cover.default_sample_size * cover.vae_scale_factor == 512
    else:
        assert parameters(planner) < 1e6
        assert acestep.latents_per_second == 25
