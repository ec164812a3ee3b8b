"""Prometheus config, alert rules, the Grafana provisioning and dashboard, checked
offline: they parse, their PromQL parses, and they only query metrics the gateway and
Triton export (tests/deploy/deploy_metrics.py)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from .deploy_files import DEPLOY
from .deploy_metrics import (
    ALERT_RULES,
    DASHBOARDS,
    PROMETHEUS_SYNTHETIC,
    dashboard_queries,
    deploy_queries,
    exposed_series_names,
    promql_metric_names,
)

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARD = DASHBOARDS / "lama-serving.json"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)


def _all_names(exprs) -> set[str]:
    return set().union(*(promql_metric_names(expr) for expr in exprs))


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        (
            'sum by (status) (rate(lama_gateway_requests_total{status=~"5.."}[$__rate_interval]))',
            {"lama_gateway_requests_total"},
        ),
        ("histogram_quantile(0.95, sum by (le) (rate(a_bucket[${__rate_interval}])))", {"a_bucket"}),
        ("rate(a[5m] offset 1h) / on (model) group_left b + max_over_time(c[10m:1m])", {"a", "b", "c"}),
        ('{__name__="a", job="x"} > bool 1', {"a"}),
        ("sum by (<<.GroupBy>>) (rate(a{<<.LabelMatchers>>}[2m]))", {"a"}),
        ("time() - 1", set()),
    ],
)
def test_promql_metric_names(expr, names):
    assert promql_metric_names(expr) == names


@pytest.mark.parametrize("expr", ['{__name__=~"nv_.*"}', "sum(rate(a[5m])"])
def test_promql_metric_names_refuses_what_it_cannot_check(expr):
    with pytest.raises(ValueError):
        promql_metric_names(expr)


@pytest.mark.parametrize("source", sorted(deploy_queries()))
def test_queries_use_exported_metrics(source):
    exprs = deploy_queries()[source]
    assert exprs, f"no queries found in {source}"
    unknown = _all_names(exprs) - exposed_series_names() - PROMETHEUS_SYNTHETIC
    assert not unknown, f"{source} queries metrics nothing exports: {sorted(unknown)}"


def test_prometheus_config_loads_the_rules():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    rule_files = [path for pattern in config["rule_files"] for path in PROMETHEUS.glob(pattern)]
    assert sorted(rule_files) == sorted(ALERT_RULES.glob("*.yml"))
    assert {job["job_name"] for job in config["scrape_configs"]} >= {"triton", "gateway"}


def test_alert_rules_structure():
    rules = {}
    for path in ALERT_RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            assert group["name"] and group["rules"], path.name
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
                assert rule["labels"]["severity"] in {"warning", "critical"}
                assert rule["annotations"]["summary"]
                assert rule["for"][-1] in "smh"
                rules[rule["alert"]] = promql_metric_names(rule["expr"])
    # The issue's three: error rate, queue time, pending requests.
    assert "lama_gateway_requests_total" in rules["LamaGatewayHighErrorRate"]
    assert "nv_inference_queue_duration_us" in rules["LamaTritonQueueTimeHigh"]
    assert rules["LamaTritonPendingRequests"] == {"nv_inference_pending_request_count"}


@needs_promtool
def test_promtool_checks_config_and_rules():
    check = subprocess.run(
        ["promtool", "check", "config", str(PROMETHEUS / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        ["promtool", "test", "rules", str(PROMETHEUS / "tests" / "lama-alerts.test.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_grafana_provisioning_matches_compose(compose):
    mounts = {}
    for volume in compose["services"]["grafana"]["volumes"]:
        source, target = volume.split(":")[:2]
        mounts[source] = target
    provisioning = mounts["./deploy/grafana/provisioning"]
    assert provisioning == "/etc/grafana/provisioning"
    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "lama.yml").read_text())["providers"]
    assert provider["options"]["path"] == mounts["./deploy/grafana/dashboards"]
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"
    (datasource,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in compose["services"]


def test_dashboard_panels_use_the_provisioned_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    (datasource,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"], panel["title"]


def test_dashboard_covers_the_issue():
    """Request rate and errors by status, per-stage latency quantiles, Triton queue time
    per request, average batch size, GPU utilisation and memory."""
    exprs = list(dashboard_queries(DASHBOARD))
    compact = [expr.replace(" ", "") for expr in exprs]

    def used(*names: str) -> bool:
        return any(set(names) <= promql_metric_names(expr) for expr in exprs)

    assert any("by(status)" in e and "lama_gateway_requests_total" in e for e in compact)
    assert any("histogram_quantile" in e and "by(le,stage)" in e for e in compact)
    assert used("nv_inference_queue_duration_us", "nv_inference_request_success")
    assert any("rate(nv_inference_count" in e and "/sumby(model)(rate(nv_inference_exec_count" in e for e in compact)
    assert used("nv_gpu_utilization") and used("nv_gpu_memory_used_bytes")
