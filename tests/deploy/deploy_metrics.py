"""Metric names the deployment may query, and where its PromQL lives.

Shared by the offline tests here and by a live check (`from tests.deploy.deploy_metrics
import deploy_queries, promql_metric_names`): scrape the running stack and assert that
`promql_metric_names(expr)` of every `deploy_queries()` expression is among the scraped
series names, plus `PROMETHEUS_SYNTHETIC`, minus `TRITON_GPU_METRICS` where Triton has no
GPU. Histograms are scraped as `_bucket`/`_sum`/`_count` series, which is how queries
name them too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import promql_parser
import yaml

from .deploy_files import DEPLOY, REPO

DASHBOARDS = DEPLOY / "grafana" / "dashboards"
ALERT_RULES = DEPLOY / "prometheus" / "rules"
ADAPTER_VALUES = DEPLOY / "k8s" / "prometheus-adapter" / "values.yaml"

# Metric family -> Prometheus type, as the gateway exports them (gateway/ metrics module).
GATEWAY_METRICS = {
    "lama_gateway_requests_total": "counter",
    "lama_gateway_request_duration_seconds": "histogram",
    "lama_gateway_stage_duration_seconds": "histogram",
    "lama_gateway_in_flight_requests": "gauge",
    "lama_gateway_payload_bytes": "histogram",
}

# Triton 2.51 (NGC 24.10) with default --metrics-config: latencies are counters in us.
TRITON_METRICS = {
    "nv_inference_request_success": "counter",
    "nv_inference_request_failure": "counter",
    "nv_inference_count": "counter",
    "nv_inference_exec_count": "counter",
    "nv_inference_request_duration_us": "counter",
    "nv_inference_queue_duration_us": "counter",
    "nv_inference_compute_input_duration_us": "counter",
    "nv_inference_compute_infer_duration_us": "counter",
    "nv_inference_compute_output_duration_us": "counter",
    "nv_inference_pending_request_count": "gauge",
    "nv_gpu_utilization": "gauge",
    "nv_gpu_memory_used_bytes": "gauge",
    "nv_gpu_memory_total_bytes": "gauge",
    "nv_gpu_power_usage": "gauge",
}

# DCGM gauges: only exported when Triton runs with a GPU (not by the embedded CPU stack).
TRITON_GPU_METRICS = frozenset(name for name in TRITON_METRICS if name.startswith("nv_gpu_"))

# Series Prometheus itself attaches to every target; no /metrics endpoint exports them.
PROMETHEUS_SYNTHETIC = frozenset({"up"})

_HISTOGRAM_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")

# Not PromQL, substituted before parsing: Grafana's interval variables and the
# prometheus-adapter's Go templates (`{<<.LabelMatchers>>}` becomes an empty matcher).
_GRAFANA_INTERVAL = re.compile(r"\$(?:\{__(?:rate_interval|interval|range)\}|__(?:rate_interval|interval|range)\b)")
_ADAPTER_TEMPLATES = {"<<.LabelMatchers>>": "", "<<.GroupBy>>": "pod"}


def exposed_series_names() -> frozenset[str]:
    """Every series name a scrape of the gateway and Triton can show."""
    names: set[str] = set()
    for family, kind in {**GATEWAY_METRICS, **TRITON_METRICS}.items():
        if kind == "histogram":
            names.update(family + suffix for suffix in _HISTOGRAM_SERIES_SUFFIXES)
        else:
            names.add(family)
    return frozenset(names)


def promql_metric_names(expr: str) -> set[str]:
    """Names of the metrics an expression selects, e.g.
    `histogram_quantile(0.9, sum by (le) (rate(x_bucket[$__rate_interval])))` -> {"x_bucket"}.

    Raises ValueError when the expression does not parse, or when it selects metrics
    by a regular expression on `__name__` (which no name check could cover).
    """
    text = _GRAFANA_INTERVAL.sub("5m", expr)
    for template, replacement in _ADAPTER_TEMPLATES.items():
        text = text.replace(template, replacement)
    root = promql_parser.parse(text)
    names: set[str] = set()

    def visit(node: object) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        if node.name:
            names.add(node.name)
            return
        for matcher in node.matchers.matchers:
            if matcher.name != "__name__":
                continue
            if matcher.op != promql_parser.MatchOp.Equal:
                raise ValueError(f"metric selected by pattern {matcher.value!r} in: {expr}")
            names.add(matcher.value)

    promql_parser.walk(root, visit)
    return names


def dashboard_queries(path: Path) -> Iterator[str]:
    """The `expr` of every Prometheus target of a Grafana dashboard, rows included."""

    def panels(items: list[dict]) -> Iterator[dict]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    dashboard = json.loads(path.read_text())
    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield target["expr"]


def rule_queries(path: Path) -> Iterator[str]:
    """The `expr` of every alerting and recording rule of a Prometheus rules file."""
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule["expr"]


def adapter_queries(path: Path) -> Iterator[str]:
    """Series and metrics queries of the prometheus-adapter rules (Helm values)."""
    rules = yaml.safe_load(path.read_text())["rules"]
    for kind in ("custom", "external"):
        for rule in rules.get(kind, []):
            yield rule["seriesQuery"]
            yield rule["metricsQuery"]


def deploy_queries() -> dict[str, list[str]]:
    """Every PromQL expression shipped under deploy/, keyed by its file (repo-relative)."""
    sources: dict[Path, list[str]] = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        sources[path] = list(dashboard_queries(path))
    for path in sorted(ALERT_RULES.glob("*.yml")):
        sources[path] = list(rule_queries(path))
    sources[ADAPTER_VALUES] = list(adapter_queries(ADAPTER_VALUES))
    return {str(path.relative_to(REPO)): exprs for path, exprs in sources.items()}
