"""Runs Triton Inference Server locally against model_repository/ (CPU, tiny models).

    .venv/bin/python triton/launch.py [--http-port 8000] [--grpc-port 8001] [--metrics-port 8002]

Builds the tiny random-weight models into var/models when they are missing or stale, serves
a copy of model_repository/ with every instance group on the CPU, and runs the real
`tritonserver` binary that the nvidia-pytriton wheel carries (installed with --no-deps by
`make triton-deps`). Prints one "ready" line once /v2/health/ready answers, then runs until
SIGINT or SIGTERM, which it passes on for Triton's graceful shutdown.

This is a script, not a module: a package named `triton` would shadow the compiler package
that torch looks for (see triton/__init__.py).
"""

import argparse
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# The image's entry, beside this script: the same OpenTelemetry flags locally as in a cluster.
from place_models import trace_flags

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 300.0
# engines.prepare.MANIFEST (not imported: this script runs before the model stack is needed).
PREPARED_MANIFEST = "prepared.json"


def pytriton_dist() -> tuple[Path, Path]:
    """The tritonserver distribution and the shared libraries in the nvidia-pytriton wheel."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or spec.origin is None:
        sys.exit("nvidia-pytriton is not installed: run `make triton-deps`")
    package = Path(spec.origin).parent
    return package / "tritonserver", package.parent / "nvidia_pytriton.libs"


def prepare_backends(dist: Path, workdir: Path) -> Path:
    """A backend directory whose python backend has the stub for this interpreter's version.

    The wheel ships one stub per Python version beside the backend; the backend loads the
    one next to itself, and it must match the Python that runs the models (this venv's).
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        sys.exit(f"the nvidia-pytriton wheel has no python backend stub for Python {version}")
    backends = workdir / "backends"
    shutil.rmtree(backends, ignore_errors=True)
    shutil.copytree(dist / "backends", backends)
    shutil.copy2(stub, backends / "python" / "triton_python_backend_stub")
    return backends


def prepare_repository(source: Path, workdir: Path, *, gpu: bool) -> Path:
    """A copy of the model repository, with GPU instance groups moved to the CPU unless `gpu`."""
    repository = workdir / "model_repository"
    shutil.rmtree(repository, ignore_errors=True)
    shutil.copytree(source, repository, ignore=shutil.ignore_patterns("__pycache__"))
    if not gpu:
        for config in repository.glob("*/config.pbtxt"):
            config.write_text(re.sub(r"\bKIND_GPU\b", "KIND_CPU", config.read_text()))
    return repository


def build_tiny_models(models_dir: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "engines.build_tiny", "--out", str(models_dir)],
        cwd=REPO,
        env=env,
        check=True,
    )


def wait_until_ready(server: subprocess.Popen, http_port: int, timeout: float) -> None:
    url = f"http://127.0.0.1:{http_port}/v2/health/ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"tritonserver exited with status {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    server.terminate()
    sys.exit(f"tritonserver was not ready after {timeout:.0f}s")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument(
        "--repository", type=Path, default=REPO / "model_repository", help="models to serve"
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=os.environ.get("NEUTONE_MODELS_DIR") or REPO / "var" / "models",
        help="weights directory (default: $NEUTONE_MODELS_DIR, else var/models); tiny models "
        "are built there unless it holds weights from `python -m engines.prepare`",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="use --models-dir as is (real checkpoints)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="for the generated backend and repository copies (default: a temporary directory)",
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        default=os.environ.get("NEUTONE_TRITON_GPU", "").lower() in ("1", "true", "yes"),
        help="keep KIND_GPU instance groups (default: $NEUTONE_TRITON_GPU, else all on CPU)",
    )
    parser.add_argument("--log-verbose", type=int, default=0)
    parser.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_SECONDS)
    parser.add_argument(
        "--exit-timeout",
        type=int,
        default=30,
        help="seconds a stopping server waits for requests in flight (Triton's default: 30)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dist, libs = pytriton_dist()
    models_dir = args.models_dir.resolve()
    # A private directory by default, so several servers (tests, `make up`) never share one.
    with tempfile.TemporaryDirectory(prefix="neutone-triton-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        return serve(args, dist=dist, libs=libs, models_dir=models_dir, workdir=workdir)


def serve(
    args: argparse.Namespace, *, dist: Path, libs: Path, models_dir: Path, workdir: Path
) -> int:
    env = dict(os.environ)
    # The python backend stub runs `python3` from PATH: it must be this venv's interpreter,
    # whose packages (torch, diffusers, numpy<2) the models import.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(libs), env.get("LD_LIBRARY_PATH")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["NEUTONE_MODELS_DIR"] = str(models_dir)
    # Weights come from NEUTONE_MODELS_DIR only; never from the hub.
    env["HF_HUB_OFFLINE"] = "1"

    # Prepared real weights carry engines.prepare's manifest; building tiny models there
    # would replace them.
    if not args.no_build and not (models_dir / PREPARED_MANIFEST).is_file():
        build_tiny_models(models_dir, env)
    backends = prepare_backends(dist, workdir)
    repository = prepare_repository(args.repository.resolve(), workdir, gpu=args.gpu)

    command = [
        str(dist / "bin" / "tritonserver"),
        f"--model-repository={repository}",
        f"--backend-directory={backends}",
        f"--http-port={args.http_port}",
        f"--grpc-port={args.grpc_port}",
        f"--metrics-port={args.metrics_port}",
        f"--log-verbose={args.log_verbose}",
        "--strict-readiness=true",
        "--exit-on-error=true",
        f"--exit-timeout-secs={args.exit_timeout}",
        f"--allow-gpu-metrics={'true' if args.gpu else 'false'}",
        # Songs are megabytes: grow the stub's shared memory in large steps.
        "--backend-config=python,shm-default-byte-size=16777216",
        "--backend-config=python,shm-growth-byte-size=16777216",
        *trace_flags(env),
    ]
    server = subprocess.Popen(command, env=env)

    def stop(_signum: int, _frame: object) -> None:
        server.terminate()  # Triton stops taking requests and finishes the ones in flight.

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wait_until_ready(server, args.http_port, args.ready_timeout)
    print(
        f"tritonserver ready: grpc 127.0.0.1:{args.grpc_port}, "
        f"http 127.0.0.1:{args.http_port}, metrics 127.0.0.1:{args.metrics_port}",
        file=sys.stderr,
        flush=True,
    )
    return server.wait()


if __name__ == "__main__":
    sys.exit(main())
