"""Random-weight models of exactly the classes the engines load, in two sizes.

`tiny` models run the real loading and inference code on CPU in seconds (tests, the embedded
default); `full` models have the real architectures' sizes (Qwen2.5-7B, ACE-Step 1.5,
SDXL-Turbo) for benchmarking on a GPU without downloading weights. Tokenizers are real BPE
tokenizers trained here on a small built-in corpus, so no file is ever downloaded.
Everything is deterministic given the seed.
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import torch
from diffusers import (
    AceStepPipeline,
    AutoencoderKL,
    AutoencoderOobleck,
    DiffusionPipeline,
    EulerAncestralDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from diffusers.models.transformers.ace_step_transformer import AceStepTransformer1DModel
from diffusers.pipelines.ace_step import (
    AceStepAudioTokenDetokenizer,
    AceStepAudioTokenizer,
    AceStepConditionEncoder,
)
from tokenizers import Regex, normalizers, pre_tokenizers
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    PreTrainedTokenizerBase,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3Model,
)

from engines import planner
from engines.categories import CATEGORIES


class ModelSize(StrEnum):
    TINY = "tiny"
    FULL = "full"


# ChatML, as Qwen instruct models use it; the engines always send their own system message.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)
QWEN_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CLIP_SPECIAL_TOKENS = ("<|startoftext|>", "<|endoftext|>")

# Qwen2's pre-tokenizer split; the trained tokenizer must split text the same way
# Qwen2Tokenizer does when it is loaded again.
_QWEN_PRETOKENIZE = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_CLIP_PRETOKENIZE = (
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"
)

_MOODS = "happy sad dreamy dark uplifting melancholic energetic calm angry romantic epic chill"
_INSTRUMENTS = (
    "piano guitar acoustic electric bass drums synth strings violin cello saxophone trumpet "
    "organ flute vocals choir beat pads"
)
_WORDS = (
    "the a and of in on with for to my your our love night day heart fire light rain road home "
    "dance sing dream fly fall run hold burn shine break stay remember forever tonight summer "
    "city ocean sky stars moon sun song music rhythm melody tempo bpm slow fast upbeat groovy "
    "female male voice verse chorus bridge intro outro title cover album art write genre mood "
    "instruments lyrics style prompt description about describe song words lines short"
)


def _corpus() -> list[str]:
    """A small deterministic corpus covering the words prompts and lyrics tend to use."""
    words = [*_MOODS.split(), *_INSTRUMENTS.split(), *_WORDS.split(), *CATEGORIES]
    lines = [" ".join(words)]
    for mood, genre, instrument in itertools.product(
        _MOODS.split(), CATEGORIES, _INSTRUMENTS.split()[:6]
    ):
        lines.append(f"{mood} {genre} song with {instrument}, 120 bpm")
    lines += ["[verse]\nI walk the city road tonight\n[chorus]\nWe sing, we dance, we shine"] * 20
    # The planner's own instructions, so they cost few tokens as they would with a real
    # tokenizer trained on ordinary English.
    instructions = (
        planner.SYSTEM_MESSAGE,
        planner.STYLE_INSTRUCTION,
        planner.LYRICS_INSTRUCTION,
        planner.TITLE_INSTRUCTION,
        planner.GENRE_QUESTION,
    )
    lines += [text.format_map(_Blank()) for text in instructions] * 20
    return lines


class _Blank(dict[str, str]):
    """Formats a template with its placeholders left empty."""

    def __missing__(self, key: str) -> str:
        return ""


def _train_bpe(
    normalizer: normalizers.Normalizer,
    pre_tokenizer: pre_tokenizers.PreTokenizer,
    *,
    vocab_size: int,
    special_tokens: tuple[str, ...],
    suffix: str = "",
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Learns byte-level BPE merges on the corpus, breaking count ties by the pair itself.

    (The `tokenizers` trainer breaks ties by internal ids that vary between runs, which
    would make the built tokenizer, and so the models' behaviour, differ from build to build.)
    """
    words: Counter[tuple[str, ...]] = Counter()
    for line in _corpus():
        for piece, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)):
            words[(*piece[:-1], piece[-1] + suffix)] += 1
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = dict.fromkeys([*special_tokens, *alphabet, *(c + suffix for c in alphabet)])
    merges: list[tuple[str, str]] = []
    while len(vocab) < vocab_size:
        pairs: Counter[tuple[str, str]] = Counter()
        for symbols, count in words.items():
            for pair in itertools.pairwise(symbols):
                pairs[pair] += count
        if not pairs:
            break
        best, count = min(pairs.items(), key=lambda item: (-item[1], item[0]))
        if count < 2:
            break
        merges.append(best)
        vocab[best[0] + best[1]] = None
        words = Counter({_merge(symbols, best): count for symbols, count in words.items()})
    return {token: index for index, token in enumerate(vocab)}, merges


def _merge(symbols: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged: list[str] = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def build_qwen_tokenizer(*, vocab_size: int = 1024) -> Qwen2Tokenizer:
    """A byte-level BPE tokenizer with Qwen2's splitting, special tokens and chat template."""
    vocab, merges = _train_bpe(
        normalizers.NFC(),
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_QWEN_PRETOKENIZE), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        ),
        vocab_size=vocab_size,
        special_tokens=QWEN_SPECIAL_TOKENS,
    )
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        extra_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]),
        model_max_length=32768,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_clip_tokenizer(*, vocab_size: int = 1024) -> CLIPTokenizer:
    """A byte-level BPE tokenizer with CLIP's lower-casing, word-final suffix and 77 tokens."""
    vocab, merges = _train_bpe(
        normalizers.Sequence(
            [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
        ),
        pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_CLIP_PRETOKENIZE), behavior="removed", invert=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False),
            ]
        ),
        vocab_size=vocab_size,
        special_tokens=CLIP_SPECIAL_TOKENS,
        suffix="</w>",
    )
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def _padded_vocab(tokenizer: PreTrainedTokenizerBase, *, at_least: int = 0) -> int:
    # Round embedding tables up to a multiple of 64, as released checkpoints do.
    return max(at_least, -(-len(tokenizer) // 64) * 64)


@dataclass(frozen=True)
class PlannerSpec:
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int = 0  # 0: just large enough for the tokenizer
    max_position_embeddings: int = 4096
    rope_theta: float = 1_000_000.0
    tie_word_embeddings: bool = False


@dataclass(frozen=True)
class AceStepSpec:
    text_encoder: dict[str, Any]
    condition_encoder: dict[str, Any]
    transformer: dict[str, Any]
    vae: dict[str, Any]
    # The 5 Hz audio codes covers are conditioned on (both sides share their sizes).
    audio_tokens: dict[str, Any]


@dataclass(frozen=True)
class CoverSpec:
    unet: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]
    text_encoder_2: dict[str, Any]
    # SDXL-Turbo's scheduler: Euler ancestral with trailing timesteps for 1-4 step sampling.
    scheduler: dict[str, Any] = field(
        default_factory=lambda: {
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "beta_schedule": "scaled_linear",
            "timestep_spacing": "trailing",
            "steps_offset": 1,
            "prediction_type": "epsilon",
        }
    )


PLANNER_SPECS = {
    # Narrow, so that on CPU a generation step costs about the same for 1 or 24 sequences,
    # as it does for the real model on a GPU.
    ModelSize.TINY: PlannerSpec(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
    ),
    # Qwen2.5-7B-Instruct: huggingface.co/Qwen/Qwen2.5-7B-Instruct, config.json (quoted whole
    # in Lightning-AI/lightning-thunder's benchmarks and verl's FLOPs-counter tests).
    ModelSize.FULL: PlannerSpec(
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        max_position_embeddings=32768,
    ),
}

ACESTEP_SPECS = {
    # Latents stay at ACE-Step's 25 Hz, but the VAE decodes to 16 kHz (not 48) through one
    # channel, with its cheap x10 step last: on CPU the decoder, which runs per song, would
    # otherwise cost more than the whole batched diffusion (DESIGN.md, Model tier).
    ModelSize.TINY: AceStepSpec(
        text_encoder={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "max_position_embeddings": 4096,
        },
        condition_encoder={
            "hidden_size": 64,
            "intermediate_size": 128,
            "text_hidden_dim": 32,
            "timbre_hidden_dim": 8,
            "num_lyric_encoder_hidden_layers": 1,
            "num_timbre_encoder_hidden_layers": 1,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "sliding_window": 16,
        },
        transformer={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "in_channels": 24,
            "audio_acoustic_hidden_dim": 8,
            # Five latents per token (ACE-Step: two) keep the per-song share of the batched
            # diffusion small on CPU.
            "patch_size": 5,
            "sliding_window": 16,
        },
        vae={
            # The encoder (edits only) gives latents of half its width: the DiT's 8.
            "encoder_hidden_size": 16,
            "downsampling_ratios": [10, 4, 4, 2, 2],
            "channel_multiples": [1, 1, 1, 1, 1],
            "decoder_channels": 1,
            "decoder_input_channels": 8,
            "audio_channels": 2,
            "sampling_rate": 16000,
        },
        audio_tokens={
            "hidden_size": 32,
            "intermediate_size": 64,
            "audio_acoustic_hidden_dim": 8,
            "num_attention_pooler_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "sliding_window": 16,
        },
    ),
    # ACE-Step 1.5 turbo (DiT, condition encoder, Oobleck VAE) with Qwen3-Embedding-0.6B:
    # huggingface.co/ACE-Step/Ace-Step1.5, acestep-v15-turbo/config.json (split into the DiT
    # and condition encoder as diffusers' scripts/convert_ace_step_to_diffusers.py does;
    # vllm-project/vllm-omni's ACE-Step tests pin the same values), vae/config.json and
    # Qwen3-Embedding-0.6B/config.json. Written out rather than left to diffusers' defaults,
    # which could change under us.
    ModelSize.FULL: AceStepSpec(
        text_encoder={
            "hidden_size": 1024,
            "intermediate_size": 3072,
            "num_hidden_layers": 28,
            "num_attention_heads": 16,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "max_position_embeddings": 32768,
            "vocab_size": 151669,
        },
        condition_encoder={
            "hidden_size": 2048,
            "intermediate_size": 6144,
            "text_hidden_dim": 1024,
            "timbre_hidden_dim": 64,
            "num_lyric_encoder_hidden_layers": 8,
            "num_timbre_encoder_hidden_layers": 4,
            "num_attention_heads": 16,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "sliding_window": 128,
        },
        transformer={
            "hidden_size": 2048,
            "intermediate_size": 6144,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "in_channels": 192,
            "audio_acoustic_hidden_dim": 64,
            "patch_size": 2,
            "sliding_window": 128,
            "is_turbo": True,
        },
        vae={
            "encoder_hidden_size": 128,
            "downsampling_ratios": [2, 4, 4, 6, 10],
            "channel_multiples": [1, 2, 4, 8, 16],
            "decoder_channels": 128,
            "decoder_input_channels": 64,
            "audio_channels": 2,
            "sampling_rate": 48000,
        },
        audio_tokens={"audio_acoustic_hidden_dim": 64},
    ),
}

COVER_SPECS = {
    # 64x64 images: a 32x32 latent and a VAE that upsamples once.
    ModelSize.TINY: CoverSpec(
        unet={
            "block_out_channels": (8, 16),
            "layers_per_block": 1,
            "sample_size": 32,
            "in_channels": 4,
            "out_channels": 4,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
            "attention_head_dim": (2, 4),
            "use_linear_projection": True,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 8,
            "transformer_layers_per_block": (1, 1),
            "projection_class_embeddings_input_dim": 80,  # 6 time ids * 8 + pooled 32
            "cross_attention_dim": 64,  # both text encoders' hidden states side by side
            "norm_num_groups": 4,
        },
        vae={
            "block_out_channels": [8, 16],
            "in_channels": 3,
            "out_channels": 3,
            "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
            "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
            "latent_channels": 4,
            "norm_num_groups": 4,
            "sample_size": 64,
        },
        text_encoder={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "projection_dim": 32,
            "hidden_act": "gelu",
        },
        text_encoder_2={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "projection_dim": 32,
            "hidden_act": "gelu",
        },
    ),
    # SDXL-Turbo: the SDXL UNet at 512x512 (64x64 latents), SDXL VAE, CLIP-L and bigG:
    # huggingface.co/stabilityai/sdxl-turbo, unet/, vae/, text_encoder/ and text_encoder_2/
    # config.json (SDXL 1.0's architecture; the UNet's sample_size is 64, not 128).
    ModelSize.FULL: CoverSpec(
        unet={
            "sample_size": 64,
            "block_out_channels": (320, 640, 1280),
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            "attention_head_dim": (5, 10, 20),
            "transformer_layers_per_block": (1, 2, 10),
            "use_linear_projection": True,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 256,
            "addition_embed_type_num_heads": 64,
            "projection_class_embeddings_input_dim": 2816,
            "cross_attention_dim": 2048,
        },
        vae={
            "block_out_channels": [128, 256, 512, 512],
            "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4,
            "latent_channels": 4,
            "sample_size": 512,
            "scaling_factor": 0.13025,
            "force_upcast": False,
        },
        text_encoder={
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
            "projection_dim": 768,
            "hidden_act": "quick_gelu",
            "vocab_size": 49408,
        },
        text_encoder_2={
            "hidden_size": 1280,
            "intermediate_size": 5120,
            "num_attention_heads": 20,
            "num_hidden_layers": 32,
            "projection_dim": 1280,
            "hidden_act": "gelu",
            "vocab_size": 49408,
        },
    ),
}


def build_planner(
    size: ModelSize, *, seed: int, dtype: torch.dtype = torch.float32
) -> tuple[Qwen2ForCausalLM, Qwen2Tokenizer]:
    spec = PLANNER_SPECS[size]
    tokenizer = build_qwen_tokenizer()
    end_ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    config = Qwen2Config(
        vocab_size=_padded_vocab(tokenizer, at_least=spec.vocab_size),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        tie_word_embeddings=spec.tie_word_embeddings,
        eos_token_id=end_ids,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = _cast(Qwen2ForCausalLM(config), dtype).eval()
    model.generation_config.eos_token_id = end_ids
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_acestep(
    size: ModelSize, *, seed: int, turbo: bool | None = None, dtype: torch.dtype = torch.float32
) -> AceStepPipeline:
    """The recipe as written (FULL is the turbo checkpoint, TINY the base one), or marked
    base or turbo as ACE-Step 1.5's checkpoints are: `is_turbo` in the DiT's config, which
    AceStepPipeline reads (turbo: guidance distilled into the weights, no CFG)."""
    spec = ACESTEP_SPECS[size]
    transformer_config = (
        spec.transformer if turbo is None else {**spec.transformer, "is_turbo": turbo}
    )
    tokenizer = build_qwen_tokenizer()
    text_config = {"vocab_size": _padded_vocab(tokenizer), **spec.text_encoder}
    torch.manual_seed(seed)
    text_encoder = Qwen3Model(Qwen3Config(**text_config, pad_token_id=tokenizer.pad_token_id))
    torch.manual_seed(seed + 1)
    condition_encoder = AceStepConditionEncoder(**spec.condition_encoder)
    torch.manual_seed(seed + 2)
    transformer = AceStepTransformer1DModel(**transformer_config)
    torch.manual_seed(seed + 3)
    vae = AutoencoderOobleck(**spec.vae)
    # With random weights each layer shrinks the signal while biases (and Snake's sin^2 terms
    # on them) pile up, so the audio would not depend on the latents, or the seed, at all.
    # Without biases it is purely a function of the latents; the pipeline normalizes loudness.
    with torch.no_grad():
        for name, parameter in vae.decoder.named_parameters():
            if name.endswith("bias"):
                parameter.zero_()
    torch.manual_seed(seed + 4)
    # The detokenizer reads the quantized codes at its hidden size (2048 by default).
    audio_tokenizer = AceStepAudioTokenizer(
        **spec.audio_tokens, fsq_dim=spec.audio_tokens.get("hidden_size", 2048)
    )
    torch.manual_seed(seed + 5)
    audio_token_detokenizer = AceStepAudioTokenDetokenizer(**spec.audio_tokens)
    pipeline = AceStepPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        condition_encoder=condition_encoder,
        # ACE-Step computes its own sigma schedule and feeds it through set_timesteps.
        scheduler=_scheduler(
            FlowMatchEulerDiscreteScheduler, {"num_train_timesteps": 1, "shift": 1.0}
        ),
        audio_tokenizer=audio_tokenizer,
        audio_token_detokenizer=audio_token_detokenizer,
    )
    return _cast(pipeline, dtype)


def build_cover(
    size: ModelSize, *, seed: int, dtype: torch.dtype = torch.float32
) -> StableDiffusionXLPipeline:
    spec = COVER_SPECS[size]
    tokenizer = build_clip_tokenizer()
    ids = {
        "vocab_size": _padded_vocab(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "max_position_embeddings": 77,
    }
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**{**ids, **spec.text_encoder}))
    torch.manual_seed(seed + 1)
    text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**{**ids, **spec.text_encoder_2}))
    torch.manual_seed(seed + 2)
    unet = UNet2DConditionModel(**spec.unet)
    torch.manual_seed(seed + 3)
    vae = AutoencoderKL(**spec.vae)
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=_scheduler(EulerAncestralDiscreteScheduler, spec.scheduler),
        add_watermarker=False,
    )
    return _cast(pipeline, dtype)


_Scheduler = TypeVar("_Scheduler")


def _scheduler(kind: type[_Scheduler], config: dict[str, Any]) -> _Scheduler:
    # Schedulers compute their tables through numpy: built under a `torch.device("cuda")`
    # context (models made straight on the GPU) they would fail, so they stay on the CPU.
    with torch.device("cpu"):
        return kind(**config)


_Castable = TypeVar("_Castable", torch.nn.Module, DiffusionPipeline)


def _cast(model: _Castable, dtype: torch.dtype) -> _Castable:
    # Models are created in float32; casting to float32 again would only log warnings.
    return model if dtype == torch.float32 else model.to(dtype=dtype)
