"""The Grafana dashboard the chart ships (files/dashboards/neutone.json) and the metric names
its queries read, so that tests can check each is exported by some process."""

import json
import re
from pathlib import Path
from typing import Any

from tests.helm.conftest import CHART_DIR

DASHBOARD_FILE = CHART_DIR / "files" / "dashboards" / "neutone.json"

# PromQL words that are not metric names: functions, aggregations, modifiers.
PROMQL_WORDS = {
    "rate", "irate", "increase", "sum", "max", "min", "avg", "count", "histogram_quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "clamp_min", "clamp_max", "abs", "topk", "bottomk",
}  # fmt: skip


def dashboard(path: Path = DASHBOARD_FILE) -> dict[str, Any]:
    return json.loads(path.read_text())


def expressions(board: dict[str, Any]) -> list[str]:
    """Every query: the panels' targets and the template variables'."""
    found = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)  # label values
    bare = re.sub(r"\{[^}]*\}", "", bare)  # label matchers
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
    bare = re.sub(r"\$\w+", "", bare)  # Grafana variables
    bare = re.sub(r"label_values\(([^,)]*),[^)]*\)", r"\1", bare)  # its label argument
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", bare))
    return {
        word for word in words if word not in PROMQL_WORDS and not re.fullmatch(r"\d*e\d+", word)
    }


def dashboard_metric_names() -> set[str]:
    return {name for expression in expressions(dashboard()) for name in metric_names(expression)}
