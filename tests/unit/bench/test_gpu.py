"""bench.gpu: the GPU benchmark runs end to end at tiny scale on the CPU and prints its table
with every row in place, and the memory plan follows from the real configs."""

import json
import re
from pathlib import Path

import pytest

from bench import gpu
from engines import random_models
from engines.random_models import ModelSize

# The rows of a tiny run, in order (at full size: 60/240 s songs, 180 s end to end, 512x512).
TINY_MEASURES = [
    ("planner", "tokens/s per stream, batch 1"),
    ("planner", "tokens/s per stream, batch 8"),
    ("planner", "tokens/s aggregate, batch 8"),
    ("planner", "weights (random)"),
    ("planner", "peak memory, batch 8"),
    ("acestep", "10 s song, batch 1"),
    ("acestep", "10 s songs, batch 8"),
    ("acestep", "20 s song, batch 1"),
    ("acestep", "20 s songs, batch 8"),
    ("acestep", "weights (random)"),
    ("acestep", "peak memory, 20 s songs, batch 8"),
    ("cover", "64x64, 4 steps, batch 1"),
    ("cover", "64x64, 4 steps, batch 8"),
    ("cover", "weights (random)"),
    ("cover", "peak memory, batch 8"),
    ("song", "10 s song end to end, batch 1"),
    ("song", "10 s songs end to end, batch 8"),
    ("song", "peak memory, all three models"),
    ("song", "GPU-seconds per song, batch 8"),
    ("song", "$ per song at $3.00/GPU-hour"),
]
VERDICT = re.compile(r"^(|met|MISSED|skipped: .+|(below|within|above) their range)$")


def table_rows(output: str) -> list[list[str]]:
    """The cells of the results table: the first Markdown table printed."""
    lines = output.splitlines()
    start = lines.index("| " + " | ".join(gpu.COLUMNS) + " |")
    assert lines[start + 1] == "|---|---|---|---|---|"
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_tiny_run_prints_the_whole_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Each section's first measurement runs; with a small time budget per section the rest
    are skipped, and say so in their row, so the table keeps its shape on a busy CPU."""
    argv = ["--scale", "tiny", "--device", "cpu", "--section-scale", "0.02"]
    assert gpu.main([*argv, "--budget-seconds", "45"]) == 0
    output = capsys.readouterr().out
    rows = table_rows(output)
    assert [(row[0], row[1]) for row in rows] == TINY_MEASURES
    assert all(len(row) == len(gpu.COLUMNS) for row in rows)
    for row in rows:
        assert VERDICT.match(row[4]), row
        assert (row[2] == "-") == row[4].startswith("skipped: "), row
    by_measure = {(row[0], row[1]): row for row in rows}
    first = by_measure["planner", "tokens/s per stream, batch 1"]
    assert float(first[2]) > 0
    assert first[3:] in ([">= 60", "met"], [">= 60", "MISSED"])
    assert by_measure["acestep", "10 s song, batch 1"][3] == "<= 1.5 s"
    assert by_measure["cover", "64x64, 4 steps, batch 1"][3] == "<= 100 ms"
    assert by_measure["planner", "weights (random)"][2] == "n/a on CPU"
    # The memory plan follows the table.
    assert "| H200 (141 GB) |" in output


def test_full_size_refuses_the_cpu() -> None:
    with pytest.raises(SystemExit, match="need a GPU"):
        gpu.main(["--scale", "full", "--device", "cpu"])


def test_memory_plan_comes_from_the_real_configs() -> None:
    models = {model.name: model for model in gpu.footprints()}
    # Qwen2.5-7B-Instruct; ACE-Step 1.5 turbo's DiT, condition encoder, audio tokenizers, Oobleck
    # VAE and Qwen3-Embedding-0.6B; SDXL-Turbo's UNet, VAE and both CLIP text encoders.
    assert models["planner"].parameters == pytest.approx(7.62e9, rel=0.01)
    assert models["acestep"].parameters == pytest.approx(3.16e9, rel=0.01)
    assert models["cover"].parameters == pytest.approx(3.45e9, rel=0.01)
    assert models["planner"].weights == pytest.approx(15.2e9, rel=0.01)
    # 24 GB holds no two of them with the planner; 80 GB holds all three with room to spare.
    assert gpu.layout_for(models, 24) == (("planner",), ("acestep", "cover"))
    assert gpu.layout_for(models, 40) == (("planner",), ("acestep", "cover"))
    assert gpu.layout_for(models, 80) == (("planner", "acestep", "cover"),)
    assert gpu.fits(list(models.values()), 80) > 20
    assert gpu.layout_for(models, 8) is None
    plan = gpu.plan_text()
    assert "| L4 / A10 (24 GB) | 2 GPUs: planner \\| acestep + cover |" in plan


def test_weights_come_from_a_models_dir_of_the_runs_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    random_models.build_cover(ModelSize.TINY, seed=0).save_pretrained(tmp_path / "cover")
    bench = gpu.Bench(
        device=gpu.Device("cpu"),
        scale=ModelSize.TINY,
        budget=gpu.Budget(120),
        models_dir=tmp_path,
        dollars_per_gpu_hour=3.0,
    )
    # No build_tiny manifest: real, full-size checkpoints, not for a tiny run.
    assert bench.checkpoint("cover") is None
    (tmp_path / "build.json").write_text(json.dumps({"size": "tiny"}))
    assert bench.checkpoint("cover") == tmp_path / "cover"
    assert bench.checkpoint("planner") is None  # not there: random weights
    with bench.budget.section(1):
        bench.cover()
    weights = [row for row in bench.rows if row.measure.startswith("weights")]
    assert [row.measure for row in weights] == [f"weights ({tmp_path / 'cover'})"]
    assert bench.loaded["cover"].engine.inference_steps == gpu.COVER_STEPS
