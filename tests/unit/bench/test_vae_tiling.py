"""bench.vae_tiling: prints one-pass and windowed decodes of a long song, the same audio."""

import pytest

from bench import vae_tiling


def test_prints_the_peak_memory_of_both_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    assert vae_tiling.main(["--vae", "tiny", "--seconds", "70"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Oobleck VAE decoding a 70 s song on cpu; windows of 30 s")
    one_pass, windows = (line.split() for line in lines[2:])
    assert one_pass[:3] == ["tiny", "one", "pass"] and windows[:2] == ["tiny", "windows"]
    # A peak is what the decode added above the process's high-water mark so far: 0 when
    # loading the model already went higher (a short song on a tiny VAE).
    assert float(one_pass[3]) >= 0 and float(windows[2]) >= 0
    assert float(windows[4]) < 1e-4  # the windowed audio is the one-pass audio
