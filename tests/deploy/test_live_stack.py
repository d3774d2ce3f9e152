"""The monitoring and health wiring against the running processes: every metric name (and label
matcher) used by the Grafana dashboard, the Prometheus alert rules and the prometheus-adapter rule
is exported by the live API's /metrics or the live worker's metrics port; every health check that
the Dockerfile, the compose file and the Kubernetes probes point at answers 200.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import REPO
from tests.deploy.dockerfile import parse_dockerfile
from tests.deploy.promql import (
    LIVE_PREFIX,
    bad_label_matchers,
    exposed_names,
    metric_names,
    monitored_expressions,
    used_names,
)
from tests.deploy.stack import LiveStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _traffic(stack: LiveStack) -> None:
    """Requests that make every event metric carry samples (ok, unknown team, batch, a job)."""
    ok = {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": "2024-01-20"}
    with stack.client() as c:
        assert c.post("/v1/predict", json=ok).status_code == 200
        assert c.post("/v1/predict", json={**ok, "home_team": "Arsenl"}).status_code == 404
        assert c.post("/v1/predict/batch", json={"matches": [ok, ok]}).status_code == 200
        r = c.post("/v1/jobs", json={"matches": [ok, {**ok, "away_team": "Liverpool"}]})
        assert r.status_code == 202, r.text
    assert stack.wait_job(r.json()["job_id"])["status"] == "succeeded"


@pytest.fixture(scope="module")
def scraped(live_stack: LiveStack) -> dict[str, set[str]]:
    _traffic(live_stack)
    api = httpx.get(f"{live_stack.api_url}/metrics", timeout=10)
    worker = httpx.get(live_stack.worker_metrics_url, timeout=10)
    assert api.status_code == worker.status_code == 200
    families = [*text_string_to_metric_families(api.text), *text_string_to_metric_families(worker.text)]
    return exposed_names(families)


def test_every_monitored_metric_is_exported(scraped: dict[str, set[str]]) -> None:
    used = used_names(monitored_expressions(REPO))
    # soccer_live_* appear once live_monitoring has run: checked against the replay's /metrics.
    missing = {n: w for n, w in used.items() if n not in scraped and not n.startswith(LIVE_PREFIX)}
    assert not missing, f"not exported by the API or the worker: {missing}"
    # The dashboard covers what the issue asks for: latency, rate, errors, outcomes, version, queue.
    for name in ("soccer_http_request_duration_seconds_bucket", "soccer_http_requests_total",
                 "soccer_predictions_total", "soccer_model_version", "soccer_jobs",
                 "soccer_worker_jobs_total", "soccer_worker_job_attempt_seconds_bucket"):
        assert name in used, name
    assert len(used) >= 15


def test_label_matchers_use_exported_labels(scraped: dict[str, set[str]]) -> None:
    bad = bad_label_matchers(monitored_expressions(REPO), scraped)
    assert not bad, "\n".join(bad)


def test_the_checker_rejects_an_unknown_metric(scraped: dict[str, set[str]]) -> None:
    """A counter written without its _total suffix is not a stored series: caught."""
    assert "soccer_model_load_failures_total" in scraped
    assert "soccer_model_load_failures" not in scraped
    assert metric_names("max by (variant) (soccer_model_load_failures)") - set(scraped)


def test_alerts_are_well_formed_and_name_existing_runbooks() -> None:
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yaml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    assert len({r["alert"] for r in alerts}) == len(alerts) >= 8
    for r in alerts:
        assert set(r) <= {"alert", "expr", "for", "labels", "annotations"}, r["alert"]
        assert r["labels"]["severity"] in ("warning", "critical")
        assert (REPO / r["annotations"]["runbook"]).is_file(), r["annotations"]["runbook"]
        expr = r["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), r["alert"]


def test_probe_and_healthcheck_targets_answer(live_stack: LiveStack, rendered: dict[str, Any]) -> None:
    api_port = live_stack.api_url.rsplit(":", 1)[1]
    # Kubernetes probes of the API and the worker (same paths in both overlays).
    deps = {o["metadata"]["name"]: o for o in rendered["production"] if o["kind"] == "Deployment"}
    targets = {"soccer-api": live_stack.api_url, "soccer-worker": live_stack.worker_metrics_url[:-8]}
    checked = 0
    for name, base in targets.items():
        c = deps[name]["spec"]["template"]["spec"]["containers"][0]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c:
                r = httpx.get(base + c[probe]["httpGet"]["path"], timeout=10)
                assert r.status_code == 200, (name, probe, r.text)
                checked += 1
    assert checked == 4
    # The Dockerfile HEALTHCHECK, run as the image runs it (python from the locked environment).
    hc = parse_dockerfile((REPO / "Dockerfile").read_text()).healthcheck
    assert hc is not None and hc[0] == "python"
    env = {"SOCCER_PORT": api_port, "PATH": f"{Path(sys.executable).parent}"}
    assert subprocess.run(hc, env=env, timeout=30).returncode == 0
    # Against a port where nothing listens, it fails.
    env_dead = {**env, "SOCCER_PORT": "9"}
    assert subprocess.run(hc, env=env_dead, timeout=30, capture_output=True).returncode != 0
    # The compose API healthcheck.
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    test = compose["services"]["soccer-api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    argv = [a.replace("8000", api_port) for a in test[1:]]
    assert subprocess.run(argv, env=env, timeout=30).returncode == 0
