"""Benchmark: the peak memory of decoding a long song in one pass against in windows.

    .venv/bin/python -m bench.vae_tiling [--seconds 240] [--vae tiny full] [--device cpu]
        [--window-seconds 30] [--overlap-seconds 2]

Decodes random latents of a `--seconds` song with the Oobleck VAE of the tiny test models
and with one of ACE-Step 1.5's real size (48 kHz stereo, random weights), once in one pass
and once in windows (by default the acestep model's: engines.music.MusicSettings, 30 s
windows with 2 s of context on either side), and prints a table: the peak
memory above what the process held before decoding, the time, and the largest difference
between the two decodes relative to the one-pass audio's peak.

Each decode runs in a fresh process: on the CPU the peak is the process's resident-set
high-water mark (torch allocates outside Python's heap, so tracemalloc does not see it);
on CUDA it is torch's own peak allocation.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engines.music import MusicSettings

REPO = Path(__file__).resolve().parent.parent
VAES = ("tiny", "full")
MODES = ("one pass", "windows")


def measure(
    vae_size: str, seconds: float, windows: list[float] | None, device: str, out: str
) -> dict[str, float]:
    """Decodes once in this process (meant to be a fresh one) and saves the audio to `out`."""
    import torch
    from diffusers import AutoencoderOobleck

    from engines.music import configure_vae_tiling
    from engines.random_models import ACESTEP_SPECS, ModelSize

    size = ModelSize.TINY if vae_size == "tiny" else ModelSize.FULL
    with torch.device(device):
        torch.manual_seed(0)
        vae = AutoencoderOobleck(**ACESTEP_SPECS[size].vae).eval()
        latents_per_second = vae.config.sampling_rate / np.prod(vae.config.downsampling_ratios)
        shape = (1, vae.config.decoder_input_channels, int(seconds * latents_per_second))
        latents = torch.randn(shape)
    if windows is None:
        settings = MusicSettings(vae_tile_seconds=None)
    else:
        settings = MusicSettings(vae_tile_seconds=windows[0], vae_tile_overlap_seconds=windows[1])
    configure_vae_tiling(vae, settings)

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    with torch.inference_mode():
        audio = vae.decode(latents).sample
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    elapsed = time.perf_counter() - started
    np.save(out, audio[0].float().cpu().numpy())
    return {"peak_bytes": peak, "seconds": elapsed}


def in_fresh_process(
    vae_size: str, seconds: float, windows: list[float] | None, device: str, out: Path
) -> dict:
    child = json.dumps([vae_size, seconds, windows, device, str(out)])
    command = [sys.executable, "-m", "bench.vae_tiling", "--child", child]
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0, help="the song's length")
    parser.add_argument("--vae", nargs="+", choices=VAES, default=list(VAES))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    defaults = MusicSettings()
    parser.add_argument("--window-seconds", type=float, default=defaults.vae_tile_seconds)
    parser.add_argument("--overlap-seconds", type=float, default=defaults.vae_tile_overlap_seconds)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*json.loads(args.child))))
        return 0

    windows = [args.window_seconds, args.overlap_seconds]
    print(
        f"Oobleck VAE decoding a {args.seconds:g} s song on {args.device}; windows of "
        f"{args.window_seconds:g} s with {args.overlap_seconds:g} s of context either side"
    )
    print(f"{'VAE':<6} {'decode':<10} {'peak MiB':>10} {'seconds':>9} {'max diff':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        for vae_size in args.vae:
            audio = {}
            for mode in MODES:
                out = Path(scratch) / f"{vae_size}-{mode.replace(' ', '-')}.npy"
                tiles = windows if mode == "windows" else None
                result = in_fresh_process(vae_size, args.seconds, tiles, args.device, out)
                audio[mode] = np.load(out)
                difference = ""
                if mode == "windows":
                    one_pass = audio["one pass"]
                    if audio[mode].shape != one_pass.shape:
                        sys.exit(f"{vae_size}: windowed audio is {audio[mode].shape}")
                    peak = float(np.abs(one_pass).max()) or 1.0
                    difference = f"{float(np.abs(audio[mode] - one_pass).max()) / peak:.1e}"
                print(
                    f"{vae_size:<6} {mode:<10} {result['peak_bytes'] / 2**20:>10.1f}"
                    f" {result['seconds']:>9.2f} {difference:>10}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
