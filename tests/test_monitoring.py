"""docker/'s monitoring files against the code: every alert rule and every dashboard query names metrics
that the gateway or the worker exports, the scrape jobs the rules expect exist, and the compose health
checks ask for readiness. With promtool on the PATH, promtool checks the rules and the configuration too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.metrics import Backlog, Metrics
from gateway.settings import Settings

DOCKER = Path(__file__).resolve().parents[1] / "docker"
RULES = DOCKER / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = DOCKER / "prometheus" / "prometheus.yml"
DASHBOARD = DOCKER / "grafana" / "milesgate.json"
COMPOSE = DOCKER / "compose.yaml"
JOBS = {"milesgate-gateway", "milesgate-worker"}
PROMETHEUS_OWN = {"up"}
"""Series Prometheus writes itself for every target."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*")  # not the unit of 5m
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}


def exported_metrics() -> set[str]:
    """The sample names the code exports: the gateway's and the worker's, each series made once."""
    metrics = Metrics()
    metrics.observe_request("/graphql", "POST", 200, 0.01)
    metrics.observe_operation("Dashboard", "query", "ok", 0.01)
    backlog = metrics.backlog()
    backlog.record(
        Backlog(
            inbox={"pending": 1, "failed": 0, "unmatched": 0},
            inbox_oldest_pending_s=1.0,
            outbound_pending=1,
            outbound_oldest_pending_s=1.0,
            outbound_dead_letters=0,
            relay_pending=1,
            relay_lag_s=1.0,
            notifications_pending=1,
            notifications_oldest_pending_s=1.0,
        ),
        read_at=dt.datetime.now(dt.UTC),
    )
    backlog.read_errors.inc()
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels, keywords or ranges)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in _KEYWORDS:
            continue  # a function call or an operator
        names.add(match.group())
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_expression_reader_finds_metric_names_only() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(milesgate_http_request_seconds_bucket{route="/x"}[5m])))'
        ' > 1 and max without (instance) (milesgate_relay_lag_seconds offset 5m) or up{job="a"} == 0'
    )
    assert metric_names(expr) == {
        "milesgate_http_request_seconds_bucket",
        "milesgate_relay_lag_seconds",
        "up",
    }


def test_every_alert_rule_reads_metrics_the_code_exports() -> None:
    exported = exported_metrics() | PROMETHEUS_OWN
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_rules_cover_backlog_dead_letters_lag_and_downtime() -> None:
    read = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    assert {
        "milesgate_inbox_depth",
        "milesgate_dead_letters",
        "milesgate_outbound_oldest_pending_age_seconds",
        "milesgate_relay_lag_seconds",
        "up",
    } <= read
    jobs = {job for rule in alert_rules() for job in re.findall(r'job="([^"]+)"', rule["expr"])}
    assert jobs == JOBS


def test_every_dashboard_query_reads_metrics_the_code_exports() -> None:
    exported = exported_metrics() | PROMETHEUS_OWN
    queries = dashboard_queries()
    assert len(queries) >= 10
    for expr in queries:
        names = metric_names(expr)
        assert names and names <= exported, (expr, names - exported)
    # and every metric the code exports has a panel
    assert {family(name) for expr in queries for name in metric_names(expr)} >= {
        family(name) for name in exported - PROMETHEUS_OWN
    }


def family(sample: str) -> str:
    return re.sub(r"_(total|created|bucket|sum|count)$", "", sample)


def test_the_example_scrape_configuration_has_the_jobs_the_rules_expect() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == JOBS
    for job in jobs.values():
        assert "credentials_file" in job["authorization"]  # the token never in the configuration
    ports = {name: job["dns_sd_configs"][0]["port"] for name, job in jobs.items()}
    assert ports == {
        "milesgate-gateway": Settings.model_fields["port"].default,
        "milesgate-worker": Settings.model_fields["worker_metrics_port"].default,
    }
    assert config["rule_files"] == [RULES.name]


def test_compose_health_checks_ask_for_readiness() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name, port_variable in (("gateway", "MILESGATE_PORT"), ("worker", "MILESGATE_WORKER_METRICS_PORT")):
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert "/readyz" in probe and port_variable in probe, name
    assert services["migrate"]["healthcheck"] == {"disable": True}
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "MILESGATE_WORKER_METRICS_HOST=0.0.0.0" in dockerfile  # reachable from Prometheus's container
    assert "MILESGATE_WORKER_METRICS_PORT=8001" in dockerfile
    assert services["prometheus"]["profiles"] == ["monitoring"]


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)")
@pytest.mark.parametrize(
    "arguments",
    [
        ["check", "rules", str(RULES)],
        ["test", "rules", str(RULES.with_name("alerts.test.yml"))],
        ["check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)],
    ],
    ids=["rules", "rule-tests", "config"],
)
def test_promtool_accepts_the_files(arguments: list[str]) -> None:
    assert PROMTOOL is not None
    checked = subprocess.run([PROMTOOL, *arguments], capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
