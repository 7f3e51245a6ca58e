"""The operator's monitoring config holds together (issue 16, docs/operations.md).

Prometheus accepts its configuration and rules, and the rules pass their unit tests
(`promtool`, from Debian's `prometheus` package). Every alert has a firing and a
quiet test and a runbook section. The Grafana dashboard's panels are well formed and
read only metrics the service exposes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from wallet.config import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards" / "wallet.yml"
DASHBOARD = GRAFANA_DIR / "dashboards" / "wallet.json"
RUNBOOK = REPO_ROOT / "docs" / "operations.md"
COMPOSE = REPO_ROOT / "docker-compose.yml"

# Every metric the API and the worker expose, by the name Prometheus stores (counters
# with `_total`) and its type; `test_the_catalogue_is_what_the_code_declares` checks it
# against wallet.metrics.
METRICS: dict[str, str] = {
    # The API
    "wallet_graphql_operation_seconds": "histogram",
    "wallet_graphql_errors_total": "counter",
    "wallet_db_pool_connections": "gauge",
    "wallet_send_batch_seconds": "histogram",
    "wallet_send_batch_sends": "histogram",
    "wallet_subscriptions_active": "gauge",
    "wallet_rate_limit_refusals_total": "counter",
    "wallet_start_time_seconds": "gauge",
    # The worker
    "wallet_webhook_deliveries_total": "counter",
    "wallet_worker_jobs_total": "counter",
    "wallet_history_partitions_ahead_days": "gauge",
    "wallet_worker_queue_depth": "gauge",
    "wallet_outbox_backlog": "gauge",
    "wallet_outbox_lag_seconds": "gauge",
    "wallet_active_wallets": "gauge",
    "wallet_transactions_24h": "gauge",
    "wallet_transaction_value_24h": "gauge",
    "wallet_transaction_average_24h": "gauge",
    "wallet_add_money_attempts_24h": "gauge",
    "wallet_add_money_success_ratio_24h": "gauge",
    "wallet_customer_balances": "gauge",
    "wallet_users": "gauge",
    "wallet_churned_users_30d": "gauge",
    "wallet_fraud_decisions_24h": "gauge",
    "wallet_fraud_false_positives_24h": "gauge",
    "wallet_kyc_reviews_open": "gauge",
    "wallet_aml_cases_open": "gauge",
    "wallet_metrics_computed_timestamp_seconds": "gauge",
    "wallet_ledger_check_breaches": "gauge",
    "wallet_safeguarding_difference": "gauge",
    "wallet_ledger_check_last_run_timestamp_seconds": "gauge",
    "wallet_reconciliation_open_breaks": "gauge",
    "wallet_reconciliation_oldest_open_break_seconds": "gauge",
}

# Series Prometheus itself writes for every scrape.
STANDARD_SERIES = frozenset({"up"})

QUERYABLE = (
    frozenset(METRICS)
    | STANDARD_SERIES
    | {
        f"{name}{suffix}"
        for name, kind in METRICS.items()
        if kind == "histogram"
        for suffix in ("_bucket", "_count", "_sum")
    }
)


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(
            "promtool is not on PATH: install it (`apt-get install prometheus` on Debian "
            "and Ubuntu) to check the Prometheus config and run the alert tests"
        )
    return subprocess.run(
        [executable, *map(str, args)], capture_output=True, text=True, timeout=120
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [
        rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"] if "alert" in rule
    ]


def alert_names() -> set[str]:
    return {rule["alert"] for rule in alert_rules()}


# --- Prometheus ------------------------------------------------------------------------


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    """promtool wants the token file to exist: check a copy that names one in tmp_path,
    beside a copy of the rules (rule_files are relative to the config)."""
    config = load_yaml(PROMETHEUS_CONFIG)
    token = tmp_path / "metrics-token"
    token.write_text("test-token\n")
    rewritten = 0
    for scrape in config["scrape_configs"]:
        authorization = scrape.get("authorization")
        if authorization and "credentials_file" in authorization:
            authorization["credentials_file"] = str(token)
            rewritten += 1
    assert rewritten == 1  # the API's scrape, and only it, presents the token
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    for rule_file in config["rule_files"]:
        shutil.copy(PROMETHEUS_DIR / rule_file, tmp_path / rule_file)
    assert_ok(promtool("check", "config", tmp_path / "prometheus.yml"))


def test_the_config_scrapes_the_api_with_the_token_and_the_worker_without() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {scrape["job_name"]: scrape for scrape in config["scrape_configs"]}
    assert set(jobs) == {"api", "worker"}
    api, worker = jobs["api"], jobs["worker"]
    assert api["static_configs"] == [{"targets": ["api:8000"]}]
    assert api.get("metrics_path", "/metrics") == "/metrics"
    assert api["authorization"]["credentials_file"] == "/etc/prometheus/metrics-token"
    assert worker["static_configs"] == [{"targets": ["worker:9101"]}]
    assert "authorization" not in worker


def test_promtool_accepts_the_rules() -> None:
    assert_ok(promtool("check", "rules", ALERTS))


def test_the_alert_unit_tests_pass() -> None:
    assert_ok(promtool("test", "rules", ALERTS_TEST))


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(ALERTS_TEST)["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alert_names() - firing == set(), "alerts without a test where they fire"
    assert alert_names() - quiet == set(), "alerts without a test where they stay quiet"
    assert (firing | quiet) - alert_names() == set(), "tests of alerts that do not exist"


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert set(rule["annotations"]) >= {"summary", "description", "runbook"}, rule["alert"]


# --- the runbook -----------------------------------------------------------------------


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped
    (letters, digits, `_`, `-` and spaces stay), spaces as hyphens, `-1`, `-2`... after
    repeats. Headings inside code fences are not headings."""
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.+?)\s*#*\s*$", line)
        if fenced or match is None:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))  # links: their text
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return anchors


def test_github_anchors_follow_githubs_rules() -> None:
    doc = "# Top\n## A `code` heading, with: punctuation!\n```\n# not a heading\n```\n## Top\n"
    assert github_anchors(doc) == {"top", "a-code-heading-with-punctuation", "top-1"}


def test_every_runbook_link_points_at_a_heading_of_the_runbook() -> None:
    anchors = github_anchors(RUNBOOK.read_text())
    for rule in alert_rules():
        document, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert document == "docs/operations.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no heading for #{anchor} in {RUNBOOK}"


def test_the_runbook_catalogue_lists_every_metric() -> None:
    catalogue = set(re.findall(r"^\| `(wallet_\w+)` \|", RUNBOOK.read_text(), re.MULTILINE))
    assert catalogue == set(METRICS)


# --- Grafana ---------------------------------------------------------------------------


def datasource_uid() -> str:
    (datasource,) = load_yaml(DATASOURCES)["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    return str(datasource["uid"])


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels, with those folded inside collapsed rows."""
    return [p for panel in panels for p in [panel, *all_panels(panel.get("panels", []))]]


def expressions(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression on the dashboard: its panels' and its variables'."""
    found = [
        target["expr"]
        for panel in all_panels(board["panels"])
        for target in panel.get("targets", [])
    ]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query["query"] if isinstance(query, dict) else query
        # label_values(selector, label): the selector is the expression.
        label_values = re.fullmatch(r"\s*label_values\((.+),\s*\w+\s*\)\s*", query)
        found.append(label_values.group(1) if label_values else query)
    return found


PROMQL_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
    | {"and", "or", "unless", "atan2", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: its identifiers once strings, label matchers,
    ranges, grouping clauses, variables and function calls are set aside."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values, and the like
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables: $__rate_interval
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    # Whole identifiers (no backing off into a prefix) not followed by a call's "(".
    names = re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_KEYWORDS}


def test_metric_names_reads_names_and_skips_the_rest() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (operation, le) (rate(wallet_graphql_operation"
        '_seconds_bucket{operation=~"$operation"}[$__rate_interval]))) / on (job) '
        "group_left max(up offset 1d) > bool 1e3 and time() - wallet_start_time_seconds"
    )
    assert metric_names(expr) == {
        "wallet_graphql_operation_seconds_bucket",
        "up",
        "wallet_start_time_seconds",
    }


def test_the_dashboard_is_grafana_10_json_with_its_title() -> None:
    board = dashboard()
    assert board["title"] == "Wallet: business and golden signals"
    assert board["schemaVersion"] >= 38
    assert board["uid"]


def test_every_panel_has_a_unique_id_a_position_and_the_provisioned_datasource() -> None:
    uid = datasource_uid()
    panels = all_panels(dashboard()["panels"])
    ids = [panel.get("id") for panel in panels]
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == len(ids), "panel ids repeat"
    for panel in panels:
        title = panel.get("title")
        assert set(panel.get("gridPos", {})) >= {"h", "w", "x", "y"}, title
        assert panel.get("datasource", {}).get("uid") == uid, title
        for target in panel.get("targets", []):
            assert target.get("datasource", {}).get("uid") == uid, title
            assert target.get("expr"), title
    for variable in dashboard()["templating"]["list"]:
        assert variable["datasource"]["uid"] == uid, variable["name"]


def test_panels_fit_the_grid_without_overlapping() -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard()["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] <= pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[x, y]}"
                taken[x, y] = panel["title"]


def test_the_dashboard_reads_only_metrics_the_service_exposes() -> None:
    used = set().union(*map(metric_names, expressions(dashboard())))
    assert used, "no metric names found: the regex is broken"
    assert used - QUERYABLE == set()


def test_the_alerts_read_only_metrics_the_service_exposes() -> None:
    used = set().union(*(metric_names(rule["expr"]) for rule in alert_rules()))
    assert used, "no metric names found: the regex is broken"
    assert used - QUERYABLE == set()


def test_promtool_parses_every_dashboard_expression(tmp_path: Path) -> None:
    """Each panel's query, its Grafana variables filled in, as a recording rule."""
    rules = [
        {
            "record": f"dashboard:panel_{panel['id']}_{target['refId']}",
            "expr": re.sub(r"\$__rate_interval", "1m", target["expr"]).replace('=~"$', '=~"'),
        }
        for panel in all_panels(dashboard()["panels"])
        for target in panel.get("targets", [])
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert_ok(promtool("check", "rules", path))


def test_grafana_provisions_the_dashboards_folder() -> None:
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"


# --- compose ---------------------------------------------------------------------------


def test_compose_wires_prometheus_and_grafana_as_the_configs_expect() -> None:
    services = load_yaml(COMPOSE)["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["ports"] == ["127.0.0.1:9090:9090"]
    assert grafana["ports"] == ["127.0.0.1:3000:3000"]
    assert "ports" not in services["worker"]  # 9101 stays inside the compose network
    assert services["worker"]["environment"]["WALLET_METRICS_WORKER_HOST"] == "0.0.0.0"
    for name in ("api", "worker"):
        assert services[name]["environment"]["WALLET_METRICS_TOKEN"].startswith(
            "${WALLET_METRICS_TOKEN:?"
        )
    # The token file prometheus.yml names is where compose puts the secret.
    (secret,) = prometheus["secrets"]
    assert secret["target"] == "/etc/prometheus/metrics-token"
    assert "./deploy/prometheus:/etc/prometheus/wallet:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/wallet/prometheus.yml" in prometheus["command"]
    env = grafana["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    volumes = grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro" in volumes


def test_the_catalogue_is_what_the_code_declares() -> None:
    from prometheus_client import REGISTRY

    import wallet.metrics  # noqa: F401 (declares them)

    declared = {}
    for family in REGISTRY.collect():
        if family.name.startswith("wallet_"):
            name = family.name + ("_total" if family.type == "counter" else "")
            declared[name] = family.type
    assert declared == METRICS
