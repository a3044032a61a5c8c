"""One real tritonserver for the session, started by triton/launch.py on free ports (and a
second one, for the tests that ask for it, whose acestep runs the turbo checkpoint).

It serves model_repository/ on CPU with the tiny random-weight models in var/models (built
there, or reused when up to date).
"""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import tritonclient.grpc as grpcclient

from engines import build_tiny
from runtime.launcher import free_port

REPO = Path(__file__).resolve().parents[3]
MODELS_DIR = REPO / "var" / "models"
START_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ModelTier:
    grpc_url: str
    http_port: int
    metrics_port: int
    models_dir: Path
    log: Path


@pytest.fixture(scope="session")
def model_tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelTier]:
    with _serving(tmp_path_factory.mktemp("triton"), MODELS_DIR) as tier:
        yield tier


@pytest.fixture(scope="session")
def turbo_model_tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelTier]:
    """A second server whose acestep runs the tiny turbo checkpoint, as production does."""
    build_tiny.build(MODELS_DIR)
    models_dir = tmp_path_factory.mktemp("turbo-models")
    for model in ("planner", "cover"):
        (models_dir / model).symlink_to(MODELS_DIR / model)
    (models_dir / "acestep").symlink_to(MODELS_DIR / "acestep-turbo")
    with _serving(tmp_path_factory.mktemp("triton-turbo"), models_dir, build=False) as tier:
        yield tier


@contextmanager
def _serving(workdir: Path, models_dir: Path, *, build: bool = True) -> Iterator[ModelTier]:
    """tritonserver serving model_repository/ with the weights in `models_dir`."""
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    log = workdir / "tritonserver.log"
    with log.open("w") as output:
        launcher = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "triton" / "launch.py"),
                f"--http-port={http_port}",
                f"--grpc-port={grpc_port}",
                f"--metrics-port={metrics_port}",
                f"--models-dir={models_dir}",
                f"--workdir={workdir / 'server'}",
                *([] if build else ["--no-build"]),
                # The turbo server's refusals stay counted in flight (model_repository/
                # README.md, Known issue): stopping would wait out Triton's 30 s for them.
                "--exit-timeout=2",
            ],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    tier = ModelTier(f"127.0.0.1:{grpc_port}", http_port, metrics_port, models_dir, log)
    try:
        _wait_until_ready(launcher, tier)
        yield tier
    finally:
        launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()


def _wait_until_ready(launcher: subprocess.Popen, tier: ModelTier) -> None:
    client = grpcclient.InferenceServerClient(tier.grpc_url)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            pytest.fail(f"tritonserver exited ({launcher.returncode}):\n{_tail(tier.log)}")
        try:
            if client.is_server_ready():
                return
        except grpcclient.InferenceServerException:
            pass
        time.sleep(0.5)
    pytest.fail(f"tritonserver not ready after {START_TIMEOUT_SECONDS:.0f}s:\n{_tail(tier.log)}")


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def client(model_tier: ModelTier) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(model_tier.grpc_url) as client:
        yield client
