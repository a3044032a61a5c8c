"""The Triton metrics the chart's Grafana dashboard and Triton's autoscaler read
(helm/neutone/files/dashboards/neutone.json, the KEDA query) are ones a real
tritonserver serving model_repository/ exports."""

import re

import httpx

from tests.helm.dashboard import dashboard_metric_names
from tests.integration.model_tier.conftest import ModelTier


def test_every_triton_metric_the_dashboard_reads_is_exported(model_tier: ModelTier) -> None:
    text = httpx.get(f"http://127.0.0.1:{model_tier.metrics_port}/metrics", timeout=10).text
    # Sample names as exported (a parser would add `_total` to Triton's counters).
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    exported = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)[0] for line in samples}
    read = {name for name in dashboard_metric_names() if name.startswith("nv_")}
    # What Triton's autoscaler (KEDA's query, or prometheus-adapter's) scales on.
    assert "nv_inference_pending_request_count" in read
    assert read - exported == set()
    # Per model, so the panels can show the ensemble's steps apart.
    assert any(
        line.startswith("nv_inference_pending_request_count{") and 'model="neutone_song"' in line
        for line in samples
    )
