"""Benchmark: the three models at their real sizes on one GPU, against issue 14's targets.

    .venv/bin/python -m bench.gpu                 # on an H100/H200: about 5 minutes
    .venv/bin/python -m bench.gpu --scale tiny --device cpu   # the same code, tiny models
    .venv/bin/python -m bench.gpu --plan          # the memory plan alone (no GPU needed)

Builds random-weight models of the real configs (engines/random_models.py: Qwen2.5-7B-Instruct,
ACE-Step 1.5 turbo, SDXL-Turbo) straight on the device, or loads real checkpoints from
NEUTONE_MODELS_DIR (--models-dir) where they are there, and times the engines in-process:
the planner's tokens/s per stream and in aggregate, ACE-Step's 60 s and 240 s songs (8 turbo
steps, VAE decode included), SDXL-Turbo at 512x512 in 4 steps, each at batch 1 and 8; the
peak GPU memory per model and with all three on one GPU; a 3-minute song end to end
(planner, then acestep and cover side by side) and what one costs in GPU-seconds and dollars.
Prints a Markdown table with the targets and met/MISSED, then the memory plan.

Every section has a time budget: a measurement that would start after its section's budget
(or the whole run's) is spent is skipped, and its row says so. Nothing is downloaded: the
tokenizers of random models are trained here (engines/random_models.py).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import diffusers
import torch
import transformers

from engines import build_tiny, random_models
from engines.cover import CoverArtist
from engines.music import MusicGenerator, MusicSettings
from engines.planner import Planner, PlannerSettings, category_spellings
from engines.random_models import ModelSize
from engines.schema import CoverRequest, MusicRequest, PlanRequest, SongMode

GB = 1e9  # GPUs are sold in decimal gigabytes; every figure here uses them
BATCHES = (1, 8)
COVER_STEPS = 4
TURBO_STEPS = 8  # ACE-Step 1.5 turbo's distilled schedule
# What hosted music APIs charge per track, for comparison.
HOSTED_DOLLARS_PER_TRACK = (0.04, 0.19)
# On-demand H100 price the dollar figure is stated at (override with --dollars-per-gpu-hour).
DEFAULT_DOLLARS_PER_GPU_HOUR = 3.00
# Seconds each section may take on a GPU (the whole run: --budget-seconds, under 8 minutes).
SECTION_BUDGETS = {"planner": 75.0, "acestep": 120.0, "cover": 45.0, "song": 120.0}
DEFAULT_BUDGET_SECONDS = 450.0
STYLE = "lo-fi hip hop, dreamy, piano, mellow drums, 80 bpm"
LYRICS = "[verse]\nRain on the window, summer in the city\n[chorus]\nWe sing, we dance, we shine"


@dataclass(frozen=True)
class Workload:
    """What each measurement asks of the models."""

    song_seconds: tuple[float, float]
    end_to_end_seconds: float
    # Tokens each planner stream generates when tokens/s are measured, after a prompt this long.
    planner_prompt_tokens: int
    planner_new_tokens: int
    # Timed runs of the quick measurements (batch 1), each after one untimed warm-up run
    # (kernels, the allocator, cuDNN's algorithm search) when `warm_up`.
    repeats: int
    warm_up: bool


WORKLOADS = {
    ModelSize.FULL: Workload(
        song_seconds=(60.0, 240.0),
        end_to_end_seconds=180.0,
        planner_prompt_tokens=128,
        planner_new_tokens=128,
        repeats=3,
        warm_up=True,
    ),
    # The same measurements cut to what a CPU does in seconds: the test of this module.
    ModelSize.TINY: Workload(
        song_seconds=(10.0, 20.0),
        end_to_end_seconds=10.0,
        planner_prompt_tokens=8,
        planner_new_tokens=8,
        repeats=1,
        warm_up=False,
    ),
}


# --- The table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    target: str = ""
    verdict: str = ""


COLUMNS = ("section", "measure", "value", "target", "verdict")


def markdown(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = (row.section, row.measure, row.value, row.target, row.verdict)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


@dataclass(frozen=True)
class Target:
    text: str
    met: Callable[[float], bool]


# Issue 14's targets.
SONG_TARGET = Target("<= 1.5 s", lambda seconds: seconds <= 1.5)  # a 60 s song, batch 1
COVER_TARGET = Target("<= 100 ms", lambda milliseconds: milliseconds <= 100)  # 512x512, batch 1
STREAM_TARGET = Target(">= 60", lambda tokens_per_second: tokens_per_second >= 60)
AGGREGATE_TARGET = Target(">= 4x batch 1", lambda speedup: speedup >= 4)


class Skipped(Exception):
    """A measurement not taken: out of time or out of memory."""


# --- Time and memory ---------------------------------------------------------------------


class Budget:
    """The run's deadline, and each section's within it."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.section_deadline = self.deadline
        self.section_seconds = seconds

    @contextmanager
    def section(self, seconds: float) -> Iterator[None]:
        self.section_seconds = seconds
        self.section_deadline = min(self.deadline, time.monotonic() + seconds)
        try:
            yield
        finally:
            self.section_deadline = self.deadline

    def check(self) -> None:
        now = time.monotonic()
        if now >= self.deadline:
            raise Skipped("skipped: the run's time budget is spent")
        if now >= self.section_deadline:
            raise Skipped(f"skipped: the section's {self.section_seconds:.0f} s budget is spent")


class Device:
    """Where the models run, and what memory they take there (CUDA only)."""

    def __init__(self, name: str) -> None:
        self.torch_device = torch.device(name)
        self.cuda = self.torch_device.type == "cuda"

    def describe(self) -> str:
        if not self.cuda:
            return f"CPU ({torch.get_num_threads()} threads)"
        total = torch.cuda.get_device_properties(self.torch_device).total_memory
        return f"{torch.cuda.get_device_name(self.torch_device)} ({total / GB:.0f} GB)"

    def dtype(self, *, half: torch.dtype) -> torch.dtype:
        return half if self.cuda else torch.float32

    def synchronize(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.torch_device)

    def allocated(self) -> int:
        return torch.cuda.memory_allocated(self.torch_device) if self.cuda else 0

    def reset_peak(self) -> None:
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.torch_device)

    def peak(self) -> int:
        return torch.cuda.max_memory_allocated(self.torch_device) if self.cuda else 0

    def gigabytes(self, count: int) -> str:
        return f"{count / GB:.1f} GB" if self.cuda else "n/a on CPU"


@dataclass
class Loaded:
    """One model built or loaded on the device, with what its weights take there."""

    engine: Any
    weights: str  # "random" or the checkpoint directory
    resident_bytes: int
    baseline_bytes: int  # allocated before it was built: other models' weights


@dataclass
class Bench:
    device: Device
    scale: ModelSize
    budget: Budget
    models_dir: Path | None
    dollars_per_gpu_hour: float
    rows: list[Row] = field(default_factory=list)
    loaded: dict[str, Loaded] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.section}: {row.measure}: {row.value} {row.verdict}", flush=True)

    @property
    def workload(self) -> Workload:
        return WORKLOADS[self.scale]

    def timed(self, call: Callable[[], object], *, quick: bool, warm_up: bool = True) -> float:
        """Median seconds of the workload's repeats (`quick`: else one run), after a warm-up
        run when the workload has them and `warm_up`; stops early when time runs out."""
        self.budget.check()
        repeats = self.workload.repeats if quick else 1
        try:
            if warm_up and self.workload.warm_up:
                call()
                self.device.synchronize()
            runs: list[float] = []
            for _ in range(repeats):
                if runs:
                    try:
                        self.budget.check()
                    except Skipped:
                        break
                started = time.perf_counter()
                call()
                self.device.synchronize()
                runs.append(time.perf_counter() - started)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise Skipped("skipped: out of GPU memory") from None
        return statistics.median(runs)

    def checkpoint(self, name: str) -> Path | None:
        """Weights for `name` under --models-dir, if that folder holds models of this run's
        scale: real checkpoints (engines.prepare) for full, engines.build_tiny's for tiny."""
        if self.models_dir is None:
            return None
        try:
            manifest = json.loads((self.models_dir / build_tiny.MANIFEST).read_text())
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("size", ModelSize.FULL) != self.scale:
            return None
        directory = self.models_dir / name
        markers = ("config.json", "model_index.json")
        return directory if any((directory / m).is_file() for m in markers) else None

    def load(
        self,
        name: str,
        *,
        build: Callable[[], Any],
        engine: Callable[[Any], Any],
        load: Callable[[Path], Any],
    ) -> Any:
        """The engine over real weights (`load`), or over random ones (`engine(build())`)."""
        baseline = self.device.allocated()
        directory = self.checkpoint(name)
        if directory is None:
            # Random weights are made on the device itself: no host copy, no transfer.
            with self.device.torch_device:
                model = build()
            made = engine(model)
        else:
            made = load(directory)
        self.device.reset_peak()
        self.loaded[name] = Loaded(
            engine=made,
            weights="random" if directory is None else str(directory),
            resident_bytes=self.device.allocated() - baseline,
            baseline_bytes=baseline,
        )
        return made

    def memory_rows(self, name: str, measured_at: str) -> None:
        loaded = self.loaded[name]
        self.add(
            Row(name, f"weights ({loaded.weights})", self.device.gigabytes(loaded.resident_bytes))
        )
        peak = self.device.peak() - loaded.baseline_bytes
        self.add(Row(name, f"peak memory, {measured_at}", self.device.gigabytes(peak)))

    def cell(
        self,
        section: str,
        measure: str,
        measure_it: Callable[[], tuple[str, float]],
        target: Target | None = None,
    ) -> None:
        """One row: the value `measure_it` formats, judged by `target` on the figure it
        returns beside it; or skipped, with the reason (and still the target)."""
        try:
            value, figure = measure_it()
        except Skipped as skipped:
            self.add(Row(section, measure, "-", target.text if target else "", str(skipped)))
            return
        if target is None:
            self.add(Row(section, measure, value))
        else:
            self.add(Row(section, measure, value, target.text, verdict(target.met(figure))))

    # --- planner ---

    def planner(self) -> None:
        dtype = self.device.dtype(half=torch.bfloat16)
        planner = self.load(
            "planner",
            build=lambda: random_models.build_planner(self.scale, seed=0, dtype=dtype),
            engine=lambda built: Planner(*built),
            load=lambda directory: Planner.from_pretrained(
                directory, device=self.device.torch_device, dtype=dtype
            ),
        )
        new_tokens = self.workload.planner_new_tokens
        per_stream: dict[int, float] = {}

        def stream(batch: int) -> tuple[str, float]:
            ids = torch.randint(
                min(10, len(planner.tokenizer) - 1),
                len(planner.tokenizer),
                (batch, self.workload.planner_prompt_tokens),
                device=planner.device,
            )

            def generate() -> object:
                with torch.inference_mode():
                    # Exactly `new_tokens` for every stream: random weights never say when
                    # to stop, and tokens/s must not depend on when a real model would.
                    return planner.model.generate(
                        input_ids=ids,
                        attention_mask=torch.ones_like(ids),
                        max_new_tokens=new_tokens,
                        min_new_tokens=new_tokens,
                        do_sample=False,
                        pad_token_id=planner.tokenizer.pad_token_id,
                    )

            per_stream[batch] = new_tokens / self.timed(generate, quick=True)
            return f"{per_stream[batch]:.1f}", per_stream[batch]

        for batch in BATCHES:
            self.cell(
                "planner",
                f"tokens/s per stream, batch {batch}",
                lambda batch=batch: stream(batch),
                STREAM_TARGET if batch == 1 else None,
            )

        def aggregate() -> tuple[str, float]:
            if set(BATCHES) - set(per_stream):
                raise Skipped("skipped: needs both batch sizes")
            speedup = 8 * per_stream[8] / per_stream[1]
            return f"{8 * per_stream[8]:.1f} ({speedup:.1f}x batch 1)", speedup

        self.cell("planner", "tokens/s aggregate, batch 8", aggregate, AGGREGATE_TARGET)
        self.memory_rows("planner", "batch 8")

    # --- acestep ---

    def acestep(self) -> None:
        dtype = self.device.dtype(half=torch.bfloat16)
        music = self.load(
            "acestep",
            build=lambda: random_models.build_acestep(self.scale, seed=0, dtype=dtype),
            engine=MusicGenerator,
            load=lambda directory: MusicGenerator.from_pretrained(
                directory, device=self.device.torch_device, dtype=dtype
            ),
        )

        def songs(seconds: float, batch: int) -> tuple[str, float]:
            requests = [
                MusicRequest(
                    prompt=STYLE,
                    lyrics=LYRICS,
                    duration_seconds=seconds,
                    inference_steps=TURBO_STEPS,
                    seed=i,
                )
                for i in range(batch)
            ]
            took = self.timed(lambda: music.generate(requests), quick=batch == 1)
            per_song = f" ({took / batch:.2f} s/song)" if batch > 1 else ""
            return f"{took:.2f} s{per_song}", took

        shorter, longer = self.workload.song_seconds
        for seconds in (shorter, longer):
            for batch in BATCHES:
                self.cell(
                    "acestep",
                    f"{seconds:.0f} s {'song' if batch == 1 else 'songs'}, batch {batch}",
                    lambda seconds=seconds, batch=batch: songs(seconds, batch),
                    # The target is for the shorter songs (60 s at full size).
                    SONG_TARGET if (seconds, batch) == (shorter, 1) else None,
                )
        self.memory_rows("acestep", f"{longer:.0f} s songs, batch 8")

    # --- cover ---

    def cover(self) -> None:
        dtype = self.device.dtype(half=torch.float16)  # SDXL-Turbo ships fp16 weights
        artist = self.load(
            "cover",
            build=lambda: random_models.build_cover(self.scale, seed=0, dtype=dtype),
            engine=lambda pipeline: CoverArtist(pipeline, inference_steps=COVER_STEPS),
            load=lambda directory: CoverArtist.from_pretrained(
                directory,
                device=self.device.torch_device,
                dtype=dtype,
                inference_steps=COVER_STEPS,
            ),
        )

        def covers(batch: int) -> tuple[str, float]:
            requests = [
                CoverRequest(title="Summer Rain", prompt=STYLE, seed=i) for i in range(batch)
            ]
            milliseconds = 1000 * self.timed(lambda: artist.paint(requests), quick=True)
            per_image = f" ({milliseconds / batch:.0f} ms/image)" if batch > 1 else ""
            return f"{milliseconds:.0f} ms{per_image}", milliseconds

        size = artist.image_size
        for batch in BATCHES:
            self.cell(
                "cover",
                f"{size}x{size}, {COVER_STEPS} steps, batch {batch}",
                lambda batch=batch: covers(batch),
                COVER_TARGET if batch == 1 else None,
            )
        self.memory_rows("cover", "batch 8")

    # --- the whole song ---

    def song(self) -> None:
        """planner -> (acestep || cover) through the engines, all three on this device, as
        one Triton server runs them (there, each in its own process)."""
        if not all(name in self.loaded for name in ("planner", "acestep", "cover")):
            self.add(Row("song", "end to end", "-", verdict="skipped: a model did not load"))
            return
        planner: Planner = self.loaded["planner"].engine
        music: MusicGenerator = self.loaded["acestep"].engine
        artist: CoverArtist = self.loaded["cover"].engine
        seconds = self.workload.end_to_end_seconds

        def make_songs(batch: int) -> None:
            requests = [
                PlanRequest(
                    mode=SongMode.DESCRIPTION,
                    description=f"a dreamy lo-fi song, take {i}",
                    # The lyrics' length follows the song's.
                    duration_seconds=seconds,
                    seed=i,
                )
                for i in range(batch)
            ]
            plans = planner.plan(requests)
            songs = [
                MusicRequest(
                    prompt=plan.prompt,
                    lyrics=plan.lyrics,
                    duration_seconds=seconds,
                    inference_steps=TURBO_STEPS,
                    seed=i,
                )
                for i, plan in enumerate(plans)
            ]
            covers = [
                CoverRequest(title=plan.title, prompt=plan.prompt, seed=i)
                for i, plan in enumerate(plans)
            ]
            with ThreadPoolExecutor(max_workers=2) as pool:
                audio = pool.submit(music.generate, songs)
                images = pool.submit(artist.paint, covers)
                audio.result()
                images.result()

        self.device.reset_peak()
        took: dict[int, float] = {}
        for batch in BATCHES:
            songs = "song" if batch == 1 else "songs"
            measure = f"{seconds:.0f} s {songs} end to end, batch {batch}"

            def end_to_end(batch: int = batch) -> tuple[str, float]:
                # Every model is warm from its own section.
                took[batch] = self.timed(lambda: make_songs(batch), quick=False, warm_up=False)
                per_song = f" ({took[batch] / batch:.2f} s/song)" if batch > 1 else ""
                return f"{took[batch]:.2f} s{per_song}", took[batch]

            self.cell("song", measure, end_to_end)
        self.add(
            Row("song", "peak memory, all three models", self.device.gigabytes(self.device.peak()))
        )

        # One GPU runs the whole song, so its wall time is what the song costs in GPU time.
        cost = f"$ per song at ${self.dollars_per_gpu_hour:.2f}/GPU-hour"
        low, high = HOSTED_DOLLARS_PER_TRACK
        hosted = f"hosted APIs ${low:.2f}-{high:.2f}/track"
        if 8 not in took:
            for measure, target in (("GPU-seconds per song, batch 8", ""), (cost, hosted)):
                self.add(Row("song", measure, "-", target, "skipped: needs the batch-8 run"))
            return
        gpu_seconds = took[8] / 8
        dollars = gpu_seconds / 3600 * self.dollars_per_gpu_hour
        where = "below" if dollars < low else "within" if dollars <= high else "above"
        self.add(Row("song", "GPU-seconds per song, batch 8", f"{gpu_seconds:.2f}"))
        self.add(Row("song", cost, f"${dollars:.4f}", hosted, f"{where} their range"))


def run(args: argparse.Namespace) -> tuple[str, list[Row]]:
    """Runs every section; returns what ran where (the table's heading) and the rows."""
    device = Device(args.device)
    bench = Bench(
        device=device,
        scale=ModelSize(args.scale),
        budget=Budget(args.budget_seconds),
        models_dir=args.models_dir,
        dollars_per_gpu_hour=args.dollars_per_gpu_hour,
    )
    heading = (
        f"bench.gpu, {time.strftime('%Y-%m-%d', time.gmtime())}: {bench.scale} models on "
        f"{device.describe()}, torch {torch.__version__}"
    )
    print(f"{heading}; budget {args.budget_seconds:.0f} s", flush=True)
    if bench.scale is ModelSize.TINY:
        print("tiny models and short songs: the targets are for full size on a GPU", flush=True)
    # Sections in the order the song needs them; each model stays resident for the next.
    for name, section in (
        ("planner", bench.planner),
        ("acestep", bench.acestep),
        ("cover", bench.cover),
        ("song", bench.song),
    ):
        print(f"{name}:", flush=True)
        with bench.budget.section(SECTION_BUDGETS[name] * args.section_scale):
            try:
                section()
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                bench.add(Row(name, "loading", "-", verdict="skipped: out of GPU memory"))
    return heading, bench.rows


# --- The memory plan ---------------------------------------------------------------------

GPUS = (("L4 / A10", 24.0), ("A100 40GB", 40.0), ("A100 80GB / H100", 80.0), ("H200", 141.0))
# Each Triton python-backend instance is a process with its own CUDA context.
CUDA_CONTEXT_BYTES = 0.6 * GB
# What the allocator's fragmentation and cuDNN's workspaces may take beyond the estimates.
RESERVE_SHARE = 0.10
# Activations alive at once in a decoder's widest stage (input, Snake/GroupNorm output,
# convolution output, residual): the rule of thumb the estimates use. The benchmark's
# measured peaks replace it.
LIVE_ACTIVATIONS = 4
HALF = 2  # bytes per bf16/fp16 value
# A planner prompt (system message and instruction) in tokens, before what it writes.
PLANNER_PROMPT_ESTIMATE = 200


@dataclass(frozen=True)
class Footprint:
    name: str
    parameters: int
    activations: dict[str, float]  # what, bytes at batch 8

    @property
    def weights(self) -> float:
        return self.parameters * HALF

    @property
    def need(self) -> float:
        return self.weights + sum(self.activations.values()) + CUDA_CONTEXT_BYTES


def _parameters(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


@cache
def footprints(batch: int = 8) -> list[Footprint]:
    """Parameter counts of the real configs (models built on the meta device: no memory, no
    time) and the activations of a batch, estimated from the same configs."""
    with torch.device("meta"):
        planner_model, _ = random_models.build_planner(ModelSize.FULL, seed=0)
        music = random_models.build_acestep(ModelSize.FULL, seed=0)
        cover = random_models.build_cover(ModelSize.FULL, seed=0)
    qwen = planner_model.config
    settings = PlannerSettings()
    # Every song asks for a style prompt, lyrics and a title: three sequences in one generate.
    sequences = 3 * batch
    tokens = PLANNER_PROMPT_ESTIMATE + settings.lyrics_tokens
    head_dim = qwen.hidden_size // qwen.num_attention_heads
    kv_cache = 2 * qwen.num_hidden_layers * qwen.num_key_value_heads * head_dim * HALF
    kv_cache *= sequences * tokens
    # Categories are scored as answers: the logits of every answer token of every spelling of
    # every category, kept in float32 twice (the logits and their log-softmax).
    answer_tokens = 8
    spellings = len(category_spellings())
    category_logits = batch * spellings * answer_tokens * qwen.vocab_size * 4 * 2

    dit = music.transformer.config
    longest = max(WORKLOADS[ModelSize.FULL].song_seconds)
    latent_rate = music.vae.config.sampling_rate / math.prod(music.vae.config.downsampling_ratios)
    dit_tokens = batch * longest * latent_rate / dit.patch_size
    dit_activations = dit_tokens * (3 * dit.intermediate_size + 4 * dit.hidden_size) * HALF
    # The Oobleck decoder's widest stages carry decoder_channels x the sample rate values per
    # second of audio; it decodes one song at a time, in tiles when the generator tiles it.
    vae = music.vae.config
    settings_music = MusicSettings()
    window = (
        longest
        if settings_music.vae_tile_seconds is None
        else min(
            longest,
            settings_music.vae_tile_seconds + 2 * settings_music.vae_tile_overlap_seconds,
        )
    )
    per_second = vae.decoder_channels * vae.sampling_rate * HALF * LIVE_ACTIVATIONS
    music_decode = settings_music.decode_batch_size * window * per_second

    image = cover.default_sample_size * cover.vae_scale_factor
    cover_decode = (
        batch * LIVE_ACTIVATIONS * cover.vae.config.block_out_channels[0] * image**2 * HALF
    )
    return [
        Footprint(
            "planner",
            _parameters(planner_model),
            {"KV cache": kv_cache, "category logits": category_logits},
        ),
        Footprint(
            "acestep",
            sum(
                _parameters(getattr(music, part))
                for part in (
                    "text_encoder",
                    "condition_encoder",
                    "transformer",
                    "vae",
                    "audio_tokenizer",
                    "audio_token_detokenizer",
                )
            ),
            {
                f"DiT, {longest:.0f} s songs": dit_activations,
                f"VAE decode, {longest:.0f} s ({window:.0f} s at a time)": music_decode,
            },
        ),
        Footprint(
            "cover",
            sum(
                _parameters(getattr(cover, part))
                for part in ("text_encoder", "text_encoder_2", "unet", "vae")
            ),
            {f"VAE decode, {image}x{image}": cover_decode},
        ),
    ]


def fits(models: Sequence[Footprint], gigabytes: float) -> float:
    """Headroom left on a GPU of this size once `models` and their batch-8 activations are
    in, after the reserve (negative: they do not fit)."""
    usable = gigabytes * GB * (1 - RESERVE_SHARE)
    return (usable - sum(model.need for model in models)) / GB


# The layouts tried per GPU size, fewest GPUs first.
LAYOUTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("planner", "acestep", "cover"),),
    (("planner",), ("acestep", "cover")),
    (("planner", "cover"), ("acestep",)),
    (("planner",), ("acestep",), ("cover",)),
)


def layout_for(
    models: dict[str, Footprint], gigabytes: float
) -> tuple[tuple[str, ...], ...] | None:
    for layout in LAYOUTS:
        if all(fits([models[name] for name in gpu], gigabytes) >= 0 for gpu in layout):
            return layout
    return None


def plan_text() -> str:
    models = {model.name: model for model in footprints()}
    lines = [
        "Parameters (real configs) and memory at bf16/fp16, batch 8:",
        "",
        "| model | parameters | weights | batch-8 activations (estimated) | with CUDA context |",
        "|---|---|---|---|---|",
    ]
    for model in models.values():
        activations = ", ".join(
            f"{what} {size / GB:.1f} GB" for what, size in model.activations.items()
        )
        lines.append(
            f"| {model.name} | {model.parameters / 1e9:.2f} B | {model.weights / GB:.1f} GB"
            f" | {activations} | {model.need / GB:.1f} GB |"
        )
    total = sum(model.need for model in models.values())
    lines += [
        f"| all three | {sum(m.parameters for m in models.values()) / 1e9:.2f} B"
        f" | {sum(m.weights for m in models.values()) / GB:.1f} GB | | {total / GB:.1f} GB |",
        "",
        f"Per GPU ({RESERVE_SHARE:.0%} kept back for fragmentation and workspaces):",
        "",
        "| GPU | layout | headroom per GPU |",
        "|---|---|---|",
    ]
    for label, gigabytes in GPUS:
        layout = layout_for(models, gigabytes)
        if layout is None:
            lines.append(f"| {label} ({gigabytes:g} GB) | does not hold even one model | |")
            continue
        described = " \\| ".join(" + ".join(gpu) for gpu in layout)
        headroom = ", ".join(
            f"{fits([models[name] for name in gpu], gigabytes):.1f} GB" for gpu in layout
        )
        gpus = f"{len(layout)} GPU{'s' if len(layout) > 1 else ''}"
        lines.append(f"| {label} ({gigabytes:g} GB) | {gpus}: {described} | {headroom} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=[size.value for size in ModelSize], default="full")
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=os.environ.get("NEUTONE_MODELS_DIR") or None,  # argparse applies `type`
        help="real checkpoints (planner/, acestep/, cover/); random weights where absent",
    )
    parser.add_argument("--budget-seconds", type=float, default=DEFAULT_BUDGET_SECONDS)
    parser.add_argument(
        "--section-scale",
        type=float,
        default=1.0,
        help="multiplies every section's time budget",
    )
    parser.add_argument("--dollars-per-gpu-hour", type=float, default=DEFAULT_DOLLARS_PER_GPU_HOUR)
    parser.add_argument("--plan", action="store_true", help="print the memory plan and stop")
    args = parser.parse_args(argv)
    if args.plan:
        print(plan_text())
        return 0
    if args.scale == ModelSize.FULL and not args.device.startswith("cuda"):
        sys.exit("full-size models need a GPU: pass --scale tiny to run on the CPU")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(
            f"no CUDA device for torch {torch.__version__} (CUDA build: {torch.version.cuda}); "
            "install a CUDA build of torch, or pass --scale tiny --device cpu"
        )
    # The pipelines warn for every prompt CLIP truncates (random planners write long ones).
    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()
    heading, rows = run(args)
    print(f"\n{heading}\n")
    print(markdown(rows))
    print()
    print(plan_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
