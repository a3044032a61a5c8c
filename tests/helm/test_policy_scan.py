"""An independent policy scanner, checkov, passes on the rendered chart: the default values,
the production values, and the production values with every image pinned by digest and
every optional object on. checkov runs from its own virtual environment (`make scan-deps`,
part of `make setup`): its pinned dependencies must not change the project's.

Each check skipped is one the chart accepts on purpose; README.md ("Policy scan") says why."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.conftest import (
    COMPONENTS,
    REPO,
    VALUES_KEYS,
    deep_merge,
    production_values,
    render,
    render_production,
)

CHECKOV = REPO / ".venv-scan" / "bin" / "checkov"
# Accepted everywhere: Envoy's and Triton's images run as their own users (uid 101, 1000),
# whose files the images own.
ACCEPTED = {"CKV_K8S_40"}
# Accepted while the values name images by tag only: image pinned by digest (CKV_K8S_43),
# and, without a digest, a pull on every start (CKV_K8S_15). Release tags are immutable
# and never `latest` (values.schema.json); image.digest pins them.
ACCEPTED_WITHOUT_DIGESTS = {"CKV_K8S_43", "CKV_K8S_15"}
DIGEST = "sha256:" + "89abcdef01234567" * 4
PINNED_AND_EVERYTHING_ON = {
    **{VALUES_KEYS[component]: {"image": {"digest": DIGEST}} for component in COMPONENTS},
    "metrics": {"podMonitor": {"enabled": True}, "grafanaDashboard": {"enabled": True}},
}
RENDERS = {
    "default": (lambda: render(), ACCEPTED | ACCEPTED_WITHOUT_DIGESTS),
    "production": (lambda: render_production(), ACCEPTED | ACCEPTED_WITHOUT_DIGESTS),
    "pinned": (
        lambda: render(
            deep_merge(
                deep_merge(production_values(), PINNED_AND_EVERYTHING_ON),
                {"songsvcWorker": {"keda": {"enabled": True}}},
            )
        ),
        ACCEPTED,
    ),
}


def scan(objects: list[dict[str, Any]], directory: Path, skipped: set[str]) -> dict[str, Any]:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make scan-deps`"
    (directory / "chart.yaml").write_text(yaml.safe_dump_all(objects))
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(directory), "--framework", "kubernetes",
         "--output", "json", "--quiet", "--compact",
         "--skip-check", ",".join(sorted(skipped))],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # 1: some check failed; anything else but 0 is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(RENDERS))
def test_checkov_passes_on_the_rendered_chart(name: str, tmp_path: Path) -> None:
    make, skipped = RENDERS[name]
    objects = make().objects
    report = scan(objects, tmp_path, skipped)
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']}"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    # Every object was looked at (a render checkov cannot read passes vacuously); checkov
    # counts each container as a resource too.
    assert summary["resource_count"] >= len(objects)
    assert summary["passed"] > 500
