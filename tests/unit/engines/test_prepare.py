"""engines.prepare on tiny models saved in their publishers' layouts: the conversion runs,
the result loads through the real engines and generates, and incomplete sources are refused
by name."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engines import checkpoints, convert_acestep, prepare
from engines.cover import CoverArtist
from engines.music import MusicGenerator
from engines.planner import Planner
from engines.schema import CoverRequest, MusicRequest, PlanRequest, SongMode
from tests.unit.engines import upstream_layouts
from tests.unit.engines.upstream_layouts import ACESTEP_REPO, COVER_REPO, PLANNER_REPO


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    return upstream_layouts.write_all(tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="session")
def prepared(upstream: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared")
    assert prepare.main(["--source", str(upstream), "--out", str(out), "--device", "cpu"]) == 0
    return out


@pytest.fixture
def source(upstream: Path, tmp_path: Path) -> Path:
    """A private copy of the upstream folders, to break."""
    copy = tmp_path / "source"
    shutil.copytree(upstream, copy)
    return copy


def run(source: Path, out: Path, *models: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Runs the command expecting a refusal; returns its message."""
    argv = ["--source", str(source), "--out", str(out), "--no-inference"]
    assert prepare.main([*argv, "--only", ",".join(models)]) == 1
    return capsys.readouterr().err


def test_writes_the_layout_the_engines_load(prepared: Path) -> None:
    assert sorted(p.name for p in prepared.iterdir()) == [
        "acestep",
        "cover",
        "planner",
        prepare.MANIFEST,
    ]
    manifest = json.loads((prepared / prepare.MANIFEST).read_text())
    assert manifest["models"]["acestep"]["repo"] == "ACE-Step/Ace-Step1.5"
    assert "converted from ACE-Step's release layout" in manifest["models"]["acestep"]["summary"]
    assert "loaded on cpu" in manifest["models"]["cover"]["summary"]


def test_prepared_models_generate_through_the_engines(prepared: Path) -> None:
    planner = Planner.from_pretrained(prepared / "planner")
    [plan] = planner.plan([PlanRequest(mode=SongMode.DESCRIPTION, description="rainy jazz")])
    assert plan.title and plan.categories

    generator = MusicGenerator.from_pretrained(prepared / "acestep")
    assert generator.pipeline.is_turbo  # from the release's config.json
    [song] = generator.generate([MusicRequest(prompt="jazz", duration_seconds=10, seed=3)])
    assert song.shape == (10 * generator.sample_rate, generator.channels)
    assert np.isfinite(song).all() and np.abs(song).max() > 0

    artist = CoverArtist.from_pretrained(prepared / "cover")
    [png] = artist.paint([CoverRequest(title="Rain", prompt="jazz")])
    assert Image.open(io.BytesIO(png)).size == (64, 64)


def test_the_cover_keeps_only_fp16_weights_and_loads_them(prepared: Path) -> None:
    weights = sorted(p.name for p in (prepared / "cover").rglob("*.safetensors"))
    assert weights and all(name.endswith(".fp16.safetensors") for name in weights)
    assert checkpoints.weights_variant(prepared / "cover") == "fp16"
    pipeline = CoverArtist.from_pretrained(prepared / "cover", dtype=torch.float32).pipeline
    assert pipeline.unet.dtype == torch.float32


def test_the_planner_is_linked_not_copied(upstream: Path, prepared: Path) -> None:
    for shard in (upstream / PLANNER_REPO).glob("*.safetensors"):
        assert (prepared / "planner" / shard.name).samefile(shard)


def test_acestep_keys_are_renamed_from_the_release(upstream: Path, prepared: Path) -> None:
    release = upstream / ACESTEP_REPO / convert_acestep.DIT
    with safe_open(release / "model.safetensors", framework="pt") as reader:
        keys = set(reader.keys())
    # Names as ACE-Step's own modeling code has them.
    assert {
        "decoder.proj_in.1.weight",
        "decoder.layers.0.self_attn.q_proj.weight",
        "decoder.layers.0.self_attn.q_norm.weight",
        "decoder.layers.0.self_attn.o_proj.weight",
        "encoder.lyric_encoder.layers.0.self_attn.k_proj.weight",
        "detokenizer.special_tokens",
        "detokenizer.proj_out.weight",
        "null_condition_emb",
    } <= keys
    transformer = load_file(prepared / "acestep/transformer/diffusion_pytorch_model.safetensors")
    assert "proj_in_conv.weight" in transformer
    assert "layers.0.self_attn.to_out.0.weight" in transformer
    encoder = load_file(prepared / "acestep/condition_encoder/diffusion_pytorch_model.safetensors")
    silence = torch.load(release / convert_acestep.SILENCE_LATENT, weights_only=True)
    torch.testing.assert_close(
        encoder["silence_latent"], silence.transpose(1, 2).to(torch.bfloat16)
    )
    assert "null_condition_emb" in encoder


def test_a_diffusers_layout_acestep_is_taken_as_it_is(
    prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source"
    shutil.copytree(prepared / "acestep", source / "acestep-v15-turbo-diffusers")
    out = tmp_path / "out"
    argv = ["--source", str(source), "--out", str(out), "--no-inference", "--only", "acestep"]
    assert prepare.main([*argv, "--acestep", "ACE-Step/acestep-v15-turbo-diffusers"]) == 0
    assert "diffusers layout, as given" in capsys.readouterr().err
    assert (out / "acestep/transformer/diffusion_pytorch_model.safetensors").samefile(
        source / "acestep-v15-turbo-diffusers/transformer/diffusion_pytorch_model.safetensors"
    )


def test_a_missing_source_folder_says_where_to_put_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = run(tmp_path, tmp_path / "out", "planner", capsys=capsys)
    assert f"{tmp_path / PLANNER_REPO} not found" in message
    assert "hf download Qwen/Qwen2.5-7B-Instruct" in message


def test_a_missing_planner_shard_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / PLANNER_REPO / "model-00002-of-00003.safetensors").unlink()
    message = run(source, tmp_path / "out", "planner", capsys=capsys)
    assert "model-00002-of-00003.safetensors" in message
    assert not (tmp_path / "out" / "planner").exists()


def test_a_missing_silence_latent_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / ACESTEP_REPO / convert_acestep.DIT / "silence_latent.pt").unlink()
    assert "lacks silence_latent.pt" in run(source, tmp_path / "out", "acestep", capsys=capsys)


def test_a_missing_text_encoder_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(source / ACESTEP_REPO / "Qwen3-Embedding-0.6B")
    assert "lacks Qwen3-Embedding-0.6B" in run(source, tmp_path / "out", "acestep", capsys=capsys)


def test_a_config_field_missing_from_the_release_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = source / ACESTEP_REPO / convert_acestep.DIT / "config.json"
    config.write_text(
        json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "patch_size"})
    )
    assert "config.json lacks 'patch_size'" in run(
        source, tmp_path / "out", "acestep", capsys=capsys
    )


def test_a_dit_weight_missing_from_the_release_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = source / ACESTEP_REPO / convert_acestep.DIT / "model.safetensors"
    weights = load_file(path)
    del weights["decoder.layers.1.self_attn.v_proj.weight"]
    save_file(weights, path)
    message = run(source, tmp_path / "out", "acestep", capsys=capsys)
    assert "acestep transformer" in message
    assert "layers.1.self_attn.to_v.weight" in message


def test_an_unknown_dit_weight_is_refused_and_unowned_keys_are_left_out(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = source / ACESTEP_REPO / convert_acestep.DIT / "model.safetensors"
    weights = load_file(path)
    save_file({**weights, "lm_head.weight": torch.zeros(2, 2)}, path)
    argv = ["--source", str(source), "--out", str(tmp_path / "out"), "--no-inference"]
    assert prepare.main([*argv, "--only", "acestep"]) == 0
    assert "1 unused keys left out: lm_head.weight" in capsys.readouterr().err

    save_file({**weights, "decoder.layers.0.extra.weight": torch.zeros(2, 2)}, path)
    message = run(source, tmp_path / "out", "acestep", capsys=capsys)
    assert "acestep transformer (from acestep-v15-turbo): unexpected weights" in message
    assert "layers.0.extra.weight" in message


def test_missing_fp16_unet_weights_are_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / COVER_REPO / "unet" / "diffusion_pytorch_model.fp16.safetensors").unlink()
    message = run(source, tmp_path / "out", "cover", capsys=capsys)
    assert "cover unet" in message and "diffusion_pytorch_model.fp16.safetensors" in message


def test_fp32_cover_weights_are_written_as_fp16(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unet = source / COVER_REPO / "unet"
    weights = load_file(unet / "diffusion_pytorch_model.fp16.safetensors")
    save_file(
        {k: v.float() for k, v in weights.items()}, unet / "diffusion_pytorch_model.safetensors"
    )
    (unet / "diffusion_pytorch_model.fp16.safetensors").unlink()
    out = tmp_path / "out"
    argv = ["--source", str(source), "--out", str(out), "--no-inference", "--only", "cover"]
    assert prepare.main(argv) == 0
    written = load_file(out / "cover/unet/diffusion_pytorch_model.fp16.safetensors")
    assert {tensor.dtype for tensor in written.values()} == {torch.float16}
    assert not (out / "cover/unet/diffusion_pytorch_model.safetensors").exists()


def test_a_wrongly_shaped_tensor_is_named(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vae = source / COVER_REPO / "vae" / "diffusion_pytorch_model.fp16.safetensors"
    weights = load_file(vae)
    weights["decoder.conv_out.weight"] = weights["decoder.conv_out.weight"][:2].clone()
    save_file(weights, vae)
    message = run(source, tmp_path / "out", "cover", capsys=capsys)
    assert "cover vae: decoder.conv_out.weight is [2," in message


def test_a_failed_run_keeps_the_previous_model(
    source: Path, prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(prepared / "planner", out / "planner")
    before = sorted(p.name for p in (out / "planner").iterdir())
    (source / PLANNER_REPO / "config.json").unlink()
    assert "lacks config.json" in run(source, out, "planner", capsys=capsys)
    assert sorted(p.name for p in (out / "planner").iterdir()) == before
    assert sorted(p.name for p in out.iterdir()) == ["planner"]  # no staging left behind


def test_an_instruct_model_is_required(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (source / PLANNER_REPO / "chat_template.jinja").unlink()
    assert "no chat template" in run(source, tmp_path / "out", "planner", capsys=capsys)


def test_hub_downloads_ask_only_for_the_needed_files(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, list[str]] = {}

    def snapshot_download(repo_id: str, *, allow_patterns: list[str]) -> str:
        asked[repo_id] = allow_patterns
        return "/snapshot"

    monkeypatch.setattr(prepare, "snapshot_download", snapshot_download)
    monkeypatch.setattr(prepare, "list_repo_files", lambda repo: ["acestep-v15-turbo/config.json"])
    for model, repo in prepare.DEFAULT_REPOS.items():
        assert prepare.locate(model, repo, prepare.HUB) == Path("/snapshot")
    assert "*/*.fp16.safetensors" in asked["stabilityai/sdxl-turbo"]
    assert "*/*.safetensors" not in asked["stabilityai/sdxl-turbo"]  # never the fp32 UNet
    assert "acestep-v15-turbo/*" in asked["ACE-Step/Ace-Step1.5"]
    assert not any("5Hz-lm" in pattern for pattern in asked["ACE-Step/Ace-Step1.5"])
    assert "*.safetensors" in asked["Qwen/Qwen2.5-7B-Instruct"]


def test_planner_sizes_name_their_repositories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--source", str(tmp_path), "--out", str(tmp_path / "out"), "--only", "planner"]
    assert prepare.main([*argv, "--planner", "qwen2.5-1.5b"]) == 1
    assert "Qwen2.5-1.5B-Instruct not found" in capsys.readouterr().err


def test_unknown_models_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        prepare.main(["--source", "hub", "--out", "x", "--only", "planner,lyrics"])
    assert exit_info.value.code == 2
    assert "must name some of planner, acestep, cover (got lyrics)" in capsys.readouterr().err
