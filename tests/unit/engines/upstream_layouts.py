"""Tiny random models saved the way their publishers lay them out, for engines.prepare.

- `Qwen2.5-7B-Instruct/`: a transformers checkpoint in shards, with its tokenizer.
- `sdxl-turbo/`: a diffusers pipeline holding only `*.fp16.safetensors` weights.
- `Ace-Step1.5/`: ACE-Step 1.5's release: `acestep-v15-turbo/` (one safetensors file with
  ACE-Step's own key names, its config.json and silence_latent.pt), `vae/` and
  `Qwen3-Embedding-0.6B/`.

The ACE-Step names are written out here from ACE-Step's modeling code (`decoder.` DiT with
`q_proj`/`o_proj`/`q_norm` attention and `proj_in.1` convolution, `encoder.` condition
encoder, `tokenizer.`/`detokenizer.`, top-level `null_condition_emb`), not derived from
engines.convert_acestep, so the conversion is checked against an independent statement.
"""

import json
from pathlib import Path

import torch
from diffusers import AceStepTransformer1DModel
from diffusers.pipelines.ace_step import (
    AceStepAudioTokenDetokenizer,
    AceStepAudioTokenizer,
    AceStepConditionEncoder,
)
from safetensors.torch import save_file

from engines import random_models
from engines.random_models import ModelSize

PLANNER_REPO = "Qwen2.5-7B-Instruct"
COVER_REPO = "sdxl-turbo"
ACESTEP_REPO = "Ace-Step1.5"

# acestep-v15-turbo/config.json, tiny: the fields ACE-Step's AceStepConfig saves.
RELEASE_CONFIG = {
    "architectures": ["AceStepConditionGenerationModel"],
    "auto_map": {
        "AutoConfig": "configuration_acestep_v15.AceStepConfig",
        "AutoModel": "modeling_acestep_v15_turbo.AceStepConditionGenerationModel",
    },
    "model_type": "acestep",
    "model_version": "turbo",
    "is_turbo": True,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "use_sliding_window": True,
    "sliding_window": 16,
    "layer_types": ["sliding_attention", "full_attention"],
    "in_channels": 24,
    "audio_acoustic_hidden_dim": 8,
    "patch_size": 5,
    "text_hidden_dim": 32,  # Qwen3-Embedding's width (the tiny one's)
    "timbre_hidden_dim": 8,
    "timbre_fix_frame": 750,
    "num_lyric_encoder_hidden_layers": 1,
    "num_timbre_encoder_hidden_layers": 1,
    "pool_window_size": 5,
    "fsq_dim": 64,
    "fsq_input_levels": [8, 8, 8, 5, 5, 5],
    "fsq_input_num_quantizers": 1,
    "num_attention_pooler_hidden_layers": 1,
    "vocab_size": 64003,
}
SILENCE_FRAMES = 15000

# diffusers' attention names -> ACE-Step's, per key segment.
_RELEASE_ATTENTION = {
    "to_q": "q_proj",
    "to_k": "k_proj",
    "to_v": "v_proj",
    "norm_q": "q_norm",
    "norm_k": "k_norm",
}


def write_all(root: Path, *, seed: int = 0) -> Path:
    write_qwen_instruct(root / PLANNER_REPO, seed=seed)
    write_sdxl_turbo_fp16(root / COVER_REPO, seed=seed)
    write_acestep_release(root / ACESTEP_REPO, seed=seed)
    return root


def write_qwen_instruct(folder: Path, *, seed: int) -> None:
    model, tokenizer = random_models.build_planner(ModelSize.TINY, seed=seed)
    # Sharded, as the 7B checkpoint is (four shards and model.safetensors.index.json).
    model.save_pretrained(folder, max_shard_size="100KB")
    tokenizer.save_pretrained(folder)


def write_sdxl_turbo_fp16(folder: Path, *, seed: int) -> None:
    pipeline = random_models.build_cover(ModelSize.TINY, seed=seed, dtype=torch.float16)
    pipeline.save_pretrained(folder, variant="fp16")


def write_acestep_release(folder: Path, *, seed: int) -> None:
    pipeline = random_models.build_acestep(ModelSize.TINY, seed=seed)
    pipeline.vae.save_pretrained(folder / "vae")
    pipeline.text_encoder.save_pretrained(folder / "Qwen3-Embedding-0.6B")
    pipeline.tokenizer.save_pretrained(folder / "Qwen3-Embedding-0.6B")

    dit = folder / "acestep-v15-turbo"
    dit.mkdir(parents=True)
    (dit / "config.json").write_text(json.dumps(RELEASE_CONFIG, indent=2))
    weights = {}
    for prefix, model in _dit_file_models(seed).items():
        for name, tensor in model.state_dict().items():
            if name == "null_condition_emb":
                weights[name] = tensor
            elif name != "silence_latent":  # kept in silence_latent.pt
                weights[f"{prefix}.{release_name(prefix, name)}"] = tensor
    save_file(
        {k: v.to(torch.bfloat16).contiguous() for k, v in weights.items()},
        dit / "model.safetensors",
    )
    generator = torch.Generator().manual_seed(seed)
    silence = torch.randn(
        1, RELEASE_CONFIG["timbre_hidden_dim"], SILENCE_FRAMES, generator=generator
    )
    torch.save(silence, dit / "silence_latent.pt")


def release_name(prefix: str, name: str) -> str:
    """ACE-Step's name for a weight of one of the DiT file's models."""
    name = name.replace("to_out.0.", "o_proj.")
    if prefix == "decoder":
        name = name.replace("proj_in_conv.", "proj_in.1.").replace("proj_out_conv.", "proj_out.1.")
    return ".".join(_RELEASE_ATTENTION.get(part, part) for part in name.split("."))


def _dit_file_models(seed: int) -> dict[str, torch.nn.Module]:
    """The four models of the DiT file, under their prefixes, sized by RELEASE_CONFIG."""
    c = RELEASE_CONFIG
    attention = {
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_key_value_heads"],
        "head_dim": c["head_dim"],
        "sliding_window": c["sliding_window"],
    }
    sizes = {"hidden_size": c["hidden_size"], "intermediate_size": c["intermediate_size"]}
    pooler = {
        **sizes,
        **attention,
        "audio_acoustic_hidden_dim": c["audio_acoustic_hidden_dim"],
        "num_attention_pooler_hidden_layers": c["num_attention_pooler_hidden_layers"],
        "layer_types": c["layer_types"][: c["num_attention_pooler_hidden_layers"]],
    }
    torch.manual_seed(seed)
    return {
        "decoder": AceStepTransformer1DModel(
            **sizes,
            **attention,
            num_hidden_layers=c["num_hidden_layers"],
            in_channels=c["in_channels"],
            audio_acoustic_hidden_dim=c["audio_acoustic_hidden_dim"],
            patch_size=c["patch_size"],
            layer_types=c["layer_types"],
            is_turbo=True,
        ),
        "encoder": AceStepConditionEncoder(
            **sizes,
            **attention,
            text_hidden_dim=c["text_hidden_dim"],
            timbre_hidden_dim=c["timbre_hidden_dim"],
            num_lyric_encoder_hidden_layers=c["num_lyric_encoder_hidden_layers"],
            num_timbre_encoder_hidden_layers=c["num_timbre_encoder_hidden_layers"],
        ),
        "tokenizer": AceStepAudioTokenizer(**pooler, fsq_dim=c["fsq_dim"]),
        "detokenizer": AceStepAudioTokenDetokenizer(**pooler),
    }
