"""ACE-Step 1.5's own release layout to the diffusers `AceStepPipeline` layout.

The release (`ACE-Step/Ace-Step1.5` on the Hub, the `checkpoints/` folder of ACE-Step's
code) keeps the DiT, the condition encoder and the audio (de)tokenizer in one file with
ACE-Step's key names, and the text encoder and VAE in folders of their own:

    acestep-v15-turbo/    config.json, model.safetensors (or shards + index), silence_latent.pt
    vae/                  config.json, diffusion_pytorch_model.safetensors (AutoencoderOobleck)
    Qwen3-Embedding-0.6B/ config.json, model.safetensors, tokenizer files

`convert` splits the DiT file by its prefixes into the pipeline's components, renames
ACE-Step's attention projections to diffusers' (`q_proj` -> `to_q`, `o_proj` -> `to_out.0`,
`q_norm` -> `norm_q`, ...), unwraps the DiT's `proj_in`/`proj_out` Sequentials, bakes the
silence latent into the condition encoder (the timbre input when no reference song is given),
and saves the pipeline in bfloat16 with `save_pretrained`. diffusers'
`scripts/convert_ace_step_to_diffusers.py` does the same; it is not in the wheel.
"""

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from engines.checkpoints import IncompleteCheckpointError, check_shapes, require, weight_files

DIT = "acestep-v15-turbo"
VAE = "vae"
TEXT_ENCODER = "Qwen3-Embedding-0.6B"
SILENCE_LATENT = "silence_latent.pt"
# What the release's weights are stored and run in; the engines cast on load when asked.
DTYPE = torch.bfloat16

# Prefix of a key in the DiT file -> the pipeline component that owns it.
_COMPONENTS = {
    "decoder": "transformer",
    "encoder": "condition_encoder",
    "tokenizer": "audio_tokenizer",
    "detokenizer": "audio_token_detokenizer",
}
# ACE-Step's attention modules -> diffusers' Attention naming, per key segment.
_ATTENTION_NAMES = {
    "q_proj": "to_q",
    "k_proj": "to_k",
    "v_proj": "to_v",
    "o_proj": "to_out.0",
    "q_norm": "norm_q",
    "k_norm": "norm_k",
}
# The DiT's patch (un)embedding is Sequential(lambda, conv, lambda) in ACE-Step.
_DIT_CONVOLUTIONS = {"proj_in.1.": "proj_in_conv.", "proj_out.1.": "proj_out_conv."}


def check_release(source: Path) -> None:
    """IncompleteCheckpointError naming whatever the release folder lacks."""
    what = "acestep (ACE-Step 1.5 release)"
    require(source, [DIT, VAE, TEXT_ENCODER], what=what)
    require(source / DIT, ["config.json", SILENCE_LATENT], what=what)
    weight_files(source / DIT, "model", what=what)
    require(source / VAE, ["config.json"], what=what)
    weight_files(source / VAE, "diffusion_pytorch_model", what=what)
    require(source / TEXT_ENCODER, ["config.json", "tokenizer_config.json"], what=what)
    weight_files(source / TEXT_ENCODER, "model", what=what)


def diffusers_key(key: str) -> tuple[str, str]:
    """(component, key inside it) for one key of the release's DiT file."""
    prefix, _, rest = key.partition(".")
    if key == "null_condition_emb":
        # The learned unconditional embedding is read from the condition encoder.
        return "condition_encoder", key
    if prefix not in _COMPONENTS or not rest:
        raise ValueError(f"not an ACE-Step 1.5 DiT weight: {key}")
    component = _COMPONENTS[prefix]
    if component == "transformer":
        for old, new in _DIT_CONVOLUTIONS.items():
            if rest.startswith(old):
                rest = new + rest.removeprefix(old)
    return component, ".".join(_ATTENTION_NAMES.get(part, part) for part in rest.split("."))


def component_configs(release: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The diffusers configs of the four DiT-file components, from the release's config."""
    # XL checkpoints run the condition side narrower than the DiT; the others set no
    # encoder_* fields and use the DiT's sizes throughout.
    encoder = {
        "hidden_size": release.get("encoder_hidden_size", release["hidden_size"]),
        "intermediate_size": release.get("encoder_intermediate_size", release["intermediate_size"]),
        "num_attention_heads": release.get(
            "encoder_num_attention_heads", release["num_attention_heads"]
        ),
        "num_key_value_heads": release.get(
            "encoder_num_key_value_heads", release["num_key_value_heads"]
        ),
    }
    shared = {
        name: release[name]
        for name in (
            "head_dim",
            "rope_theta",
            "attention_bias",
            "attention_dropout",
            "rms_norm_eps",
            "sliding_window",
        )
    }
    pooler_layers = release.get("num_attention_pooler_hidden_layers", 2)
    pooler = {
        **encoder,
        **shared,
        "audio_acoustic_hidden_dim": release["audio_acoustic_hidden_dim"],
        "pool_window_size": release.get("pool_window_size", 5),
        "num_attention_pooler_hidden_layers": pooler_layers,
        "layer_types": release["layer_types"][:pooler_layers],
    }
    return {
        "transformer": {
            **shared,
            **{
                name: release[name]
                for name in (
                    "hidden_size",
                    "intermediate_size",
                    "num_hidden_layers",
                    "num_attention_heads",
                    "num_key_value_heads",
                    "in_channels",
                    "audio_acoustic_hidden_dim",
                    "patch_size",
                    "layer_types",
                )
            },
            "encoder_hidden_size": encoder["hidden_size"],
            # The pipeline picks turbo's schedule (and skips guidance) from these.
            "is_turbo": bool(release.get("is_turbo", False)),
            "model_version": release.get("model_version"),
        },
        "condition_encoder": {
            **encoder,
            **shared,
            **{
                name: release[name]
                for name in (
                    "text_hidden_dim",
                    "timbre_hidden_dim",
                    "num_lyric_encoder_hidden_layers",
                    "num_timbre_encoder_hidden_layers",
                )
            },
        },
        "audio_tokenizer": {
            **pooler,
            "fsq_dim": release.get("fsq_dim", encoder["hidden_size"]),
            "fsq_input_levels": release.get("fsq_input_levels", [8, 8, 8, 5, 5, 5]),
            "fsq_input_num_quantizers": release.get("fsq_input_num_quantizers", 1),
        },
        "audio_token_detokenizer": pooler,
    }


def split_state_dict(
    weights: dict[str, torch.Tensor],
) -> tuple[dict[str, dict[str, torch.Tensor]], list[str]]:
    """The DiT file's tensors per pipeline component (in DTYPE), and the keys no component
    owns (left out, as diffusers' converter does)."""
    parts: dict[str, dict[str, torch.Tensor]] = {name: {} for name in _COMPONENTS.values()}
    dropped = []
    for key, tensor in weights.items():
        try:
            component, name = diffusers_key(key)
        except ValueError:
            dropped.append(key)
            continue
        parts[component][name] = tensor.to(DTYPE)
    return parts, dropped


def convert(source: Path, out: Path) -> list[str]:
    """Writes the diffusers pipeline for the release in `source` to `out`; returns the DiT
    file's keys that no component owns."""
    check_release(source)
    from accelerate import init_empty_weights
    from diffusers import (
        AceStepPipeline,
        AceStepTransformer1DModel,
        AutoencoderOobleck,
        FlowMatchEulerDiscreteScheduler,
    )
    from diffusers.pipelines.ace_step import (
        AceStepAudioTokenDetokenizer,
        AceStepAudioTokenizer,
        AceStepConditionEncoder,
    )
    from transformers import AutoModel, AutoTokenizer

    dit = source / DIT
    try:
        configs = component_configs(json.loads((dit / "config.json").read_text()))
    except KeyError as error:
        raise IncompleteCheckpointError(f"acestep: {dit / 'config.json'} lacks {error}") from None
    weights: dict[str, torch.Tensor] = {}
    for path in weight_files(dit, "model", what="acestep"):
        weights |= load_file(path)
    parts, dropped = split_state_dict(weights)
    del weights
    # Stored (1, channels, frames); the condition encoder keeps it (1, frames, channels).
    silence = torch.load(dit / SILENCE_LATENT, map_location="cpu", weights_only=True)
    parts["condition_encoder"]["silence_latent"] = silence.transpose(1, 2).to(DTYPE).contiguous()

    classes = {
        "transformer": AceStepTransformer1DModel,
        "condition_encoder": AceStepConditionEncoder,
        "audio_tokenizer": AceStepAudioTokenizer,
        "audio_token_detokenizer": AceStepAudioTokenDetokenizer,
    }
    models = {}
    for name, model_class in classes.items():
        # Parameters start empty and take the file's tensors as they are (assign): the
        # DiT is never allocated twice.
        with init_empty_weights():
            model = model_class(**configs[name])
        part = parts.pop(name)
        what = f"acestep {name} (from {dit.name})"
        check_shapes(model, {key: tuple(tensor.shape) for key, tensor in part.items()}, what=what)
        if unexpected := sorted(set(part) - set(model.state_dict())):
            raise IncompleteCheckpointError(
                f"{what}: unexpected weights {', '.join(unexpected[:5])}"
            )
        model.load_state_dict(part, strict=True, assign=True)
        models[name] = model.eval()

    pipeline = AceStepPipeline(
        vae=AutoencoderOobleck.from_pretrained(source / VAE, dtype=DTYPE),
        text_encoder=AutoModel.from_pretrained(source / TEXT_ENCODER, dtype=DTYPE),
        tokenizer=AutoTokenizer.from_pretrained(source / TEXT_ENCODER),
        # ACE-Step computes its own shifted sigmas and hands them to set_timesteps; with
        # one training timestep and no shift the scheduler takes them as they are.
        scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0),
        **models,
    )
    pipeline.save_pretrained(out, safe_serialization=True, max_shard_size="5GB")
    return dropped
