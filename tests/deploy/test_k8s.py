"""deploy/k8s: every overlay renders, every object passes the Kubernetes schema, and the objects fit
together (references resolve, probes and scrape annotations point at real ports, commands are
roles of the image), and the production overlay carries the Dagster scaling configuration.

The live side (probe paths answer on the running API and worker) is in test_live_stack.py.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.conftest import K8S, OVERLAYS, REPO
from tests.deploy.roles import OFFICIAL_IMAGES, command_problems

K8S_VERSION = "1.33.0"
PROJECT_IMAGE = {"local": "soccer-predict:local", "production": "registry.example.com/soccer-predict:0.1.0"}
NAMESPACE = {"local": "soccer-local", "production": "soccer"}
# Secrets that production expects to exist (created out of band, documented in the deploy runbook).
PRODUCTION_SECRETS = {"soccer-secrets", "soccer-mlflow"}


def _pod_specs(objs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(o, o["spec"]["template"]["spec"]) for o in objs if o["kind"] in ("Deployment", "StatefulSet")]


def _by(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def _normalised(objs: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Objects by key; Secret data decoded (kubectl wraps long base64 lines, same bytes)."""
    out = {}
    for o in objs:
        if o["kind"] == "Secret":
            o = {**o, "data": {k: base64.b64decode(v) for k, v in o.get("data", {}).items()}}
        out[kustomize.key(o)] = o
    return out


@pytest.mark.parametrize("path", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_renderer_equals_kubectl(path: str) -> None:
    """The in-repo renderer (used where kubectl is absent) gives exactly kubectl's objects."""
    expected = kustomize.kubectl_render(K8S / path)
    if expected is None:
        pytest.skip("kubectl is not installed: nothing to compare the in-repo renderer with")
    assert _normalised(kustomize.render(K8S / path)) == _normalised(expected)


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(kustomize.KustomizeError, match="namePrefix"):
        kustomize.render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "configMapGenerator:\n  - name: c\n    literals: [A=1]\n")
    with pytest.raises(kustomize.KustomizeError, match="disableNameSuffixHash"):
        kustomize.render(tmp_path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_the_kubernetes_schema(overlay: str, rendered: dict[str, Any]) -> None:
    objs = rendered[overlay]
    assert len(objs) >= 15
    errors = []
    for o in objs:
        try:
            kubernetes_validate.validate(o, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{kustomize.key(o)}: {exc.message} at {list(exc.path)}")
    assert not errors, "\n".join(errors)


def test_schema_validation_catches_a_broken_object(rendered: dict[str, Any]) -> None:
    """The validator is not a no-op: a typo'd field in a real rendered object is rejected."""
    dep = dict(_by(rendered["production"], "Deployment")["soccer-api"])
    dep["spec"] = {**dep["spec"], "replica": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_probes_resources_and_the_right_image(overlay: str,
                                                                   rendered: dict[str, Any]) -> None:
    objs = rendered[overlay]
    for obj, pod in _pod_specs(objs):
        assert obj["metadata"]["namespace"] == NAMESPACE[overlay]
        for c in pod["containers"]:
            where = f"{obj['metadata']['name']}/{c['name']}"
            res = c.get("resources", {})
            assert {"cpu", "memory"} <= set(res.get("requests", {})), where
            assert {"cpu", "memory"} <= set(res.get("limits", {})), where
            assert "livenessProbe" in c or "readinessProbe" in c, where
            repo = c["image"].rsplit(":", 1)[0]
            assert c["image"] == PROJECT_IMAGE[overlay] or repo in OFFICIAL_IMAGES, where
            if c["image"] == PROJECT_IMAGE[overlay]:
                # The image runs as its non-root user (Dockerfile USER 10001).
                assert pod["securityContext"]["runAsNonRoot"] is True, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_project_commands_are_roles_of_the_image(overlay: str, rendered: dict[str, Any],
                                                 role_helps: dict[tuple[str, ...], set[str]]) -> None:
    problems = []
    for obj, pod in _pod_specs(rendered[overlay]):
        for c in pod["containers"]:
            if c["image"] != PROJECT_IMAGE[overlay]:
                continue
            commands = [c["command"] + c.get("args", [])]
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                if "exec" in c.get(probe, {}):
                    commands.append(c[probe]["exec"]["command"])
            for argv in commands:
                problems += [f"{obj['metadata']['name']}: {p}" for p in command_problems(argv, role_helps)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_resolve(overlay: str, rendered: dict[str, Any]) -> None:
    """Every ConfigMap, Secret, PVC, ServiceAccount, Service selector, port name and scale target
    refers to something that exists (production Secrets: created out of band, documented)."""
    objs = rendered[overlay]
    configmaps, secrets = set(_by(objs, "ConfigMap")), set(_by(objs, "Secret"))
    pvcs, accounts = set(_by(objs, "PersistentVolumeClaim")), set(_by(objs, "ServiceAccount"))
    if overlay == "production":
        assert not secrets, "production must not carry secret values"
        secrets = PRODUCTION_SECRETS
        runbook = (REPO / "docs" / "runbooks" / "deploy.md").read_text()
        for s in PRODUCTION_SECRETS:
            assert f"kubectl create secret generic {s}" in runbook
    pods = _pod_specs(objs)
    for obj, pod in pods:
        name = obj["metadata"]["name"]
        if "serviceAccountName" in pod:
            assert pod["serviceAccountName"] in accounts, name
        for v in pod.get("volumes", []):
            if "configMap" in v:
                assert v["configMap"]["name"] in configmaps, name
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in pvcs, name
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, (name, m)
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    assert src["configMapRef"]["name"] in configmaps, name
                if "secretRef" in src:
                    assert src["secretRef"]["name"] in secrets, name
            ports = {p["name"] for p in c.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                p = c.get(probe, {}).get("httpGet") or c.get(probe, {}).get("tcpSocket")
                if p and isinstance(p["port"], str):
                    assert p["port"] in ports, (name, probe)
    for svc in _by(objs, "Service").values():
        matching = [(o, p) for o, p in pods
                    if svc["spec"]["selector"].items() <= o["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matching) == 1, svc["metadata"]["name"]
        port_names = {p["name"] for c in matching[0][1]["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names, svc["metadata"]["name"]
    deployments = _by(objs, "Deployment")
    for hpa in _by(objs, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for obj, _pod in pods:
        sel = obj["spec"]["selector"]["matchLabels"]
        assert sel.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scrape_annotations_point_at_metrics_ports(overlay: str, rendered: dict[str, Any]) -> None:
    scraped = {}
    for obj, pod in _pod_specs(rendered[overlay]):
        ann = obj["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") == "true":
            ports = {p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])}
            assert int(ann["prometheus.io/port"]) in ports
            assert ann["prometheus.io/path"] == "/metrics"
            scraped[obj["metadata"]["name"]] = int(ann["prometheus.io/port"])
    assert scraped == {"soccer-api": 8000, "soccer-worker": 9100}
    worker = _by(rendered[overlay], "Deployment")["soccer-worker"]["spec"]["template"]["spec"]
    assert worker["containers"][0]["command"][-2:] == ["--metrics-port", "9100"]
    config = _by(rendered[overlay], "ConfigMap")["soccer-config"]["data"]
    # The worker binds its metrics server to SOCCER_HOST: it must listen beyond loopback.
    assert config["SOCCER_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_code_server_advertises_its_own_image(overlay: str, rendered: dict[str, Any]) -> None:
    """K8sRunLauncher starts run pods with DAGSTER_CURRENT_IMAGE: it must be the code's image."""
    code = _by(rendered[overlay], "Deployment")["soccer-dagster-code"]["spec"]["template"]["spec"]
    c = code["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["DAGSTER_CURRENT_IMAGE"] == c["image"] == PROJECT_IMAGE[overlay]


def _instance_config(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(_by(objs, "ConfigMap")["dagster-instance"]["data"]["dagster.yaml"])


def test_production_runs_each_dagster_run_in_its_own_pod(rendered: dict[str, Any]) -> None:
    objs = rendered["production"]
    cfg = _instance_config(objs)
    launcher = cfg["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    lc = launcher["config"]
    assert lc["instance_config_map"] == "dagster-instance"
    assert lc["job_namespace"] == NAMESPACE["production"]
    assert lc["service_account_name"] in _by(objs, "ServiceAccount")
    assert set(lc["env_config_maps"]) <= set(_by(objs, "ConfigMap"))
    assert set(lc["env_secrets"]) <= PRODUCTION_SECRETS
    assert {v["persistentVolumeClaim"]["claimName"] for v in lc["volumes"]} <= set(
        _by(objs, "PersistentVolumeClaim"))
    assert lc["dagster_home"] == "/opt/dagster/home"  # the image's DAGSTER_HOME
    # The role may create and watch Jobs (one per run).
    role = _by(objs, "Role")["dagster-runs"]
    assert any("batch" in r["apiGroups"] and "jobs" in r["resources"] and "create" in r["verbs"]
               for r in role["rules"])
    binding = _by(objs, "RoleBinding")["dagster-runs"]
    assert binding["subjects"][0]["name"] == lc["service_account_name"]
    assert binding["subjects"][0]["namespace"] == NAMESPACE["production"]

    coord = cfg["run_coordinator"]
    assert coord["class"] == "QueuedRunCoordinator"
    assert coord["config"]["max_concurrent_runs"] >= 2
    limits = {lim["key"]: lim for lim in coord["config"]["tag_concurrency_limits"]}
    assert limits["soccer/league"]["value"] == {"applyLimitPerUniqueValue": True}
    assert limits["soccer/league"]["limit"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dagster_instance_config_is_valid_for_dagster(overlay: str, rendered: dict[str, Any],
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded dagster.yaml passes Dagster's own instance schema and the queued run
    coordinator's config schema (both from the pinned dagster)."""
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.run_coordinator import QueuedRunCoordinator

    cfg = _instance_config(rendered[overlay])
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://u@h/d")
    validated, _ = dagster_instance_config(str(tmp_path))
    assert validated["run_coordinator"]["class"] == "QueuedRunCoordinator"
    coord = process_config(resolve_to_config_type(QueuedRunCoordinator.config_type()),
                           cfg["run_coordinator"]["config"])
    assert coord.success, coord.errors


def test_production_k8s_run_launcher_config_matches_dagster_k8s(rendered: dict[str, Any]) -> None:
    """Validated against dagster-k8s's own schema when the package is installed (it is not in the
    lock yet: the production image needs it, see docs/architecture.md)."""
    k8s = pytest.importorskip("dagster_k8s", reason="dagster-k8s is not installed in this environment")
    from dagster._config import process_config, resolve_to_config_type

    cfg = _instance_config(rendered["production"])["run_launcher"]["config"]
    result = process_config(resolve_to_config_type(k8s.K8sRunLauncher.config_type()), cfg)
    assert result.success, result.errors


def test_worker_scales_on_queue_depth_and_api_on_cpu(rendered: dict[str, Any]) -> None:
    hpas = _by(rendered["production"], "HorizontalPodAutoscaler")
    api = hpas["soccer-api"]["spec"]["metrics"]
    assert api == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]
    worker = hpas["soccer-worker"]["spec"]["metrics"][0]
    assert worker["type"] == "External"
    assert worker["external"]["metric"]["name"] == "soccer_jobs"
    assert worker["external"]["metric"]["selector"]["matchLabels"] == {"status": "queued"}
    # prometheus-adapter must serve that external metric.
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "adapter-rules.yaml").read_text())
    names = [r["name"]["as"] for r in rules["rules"]["external"]]
    assert "soccer_jobs" in names
    assert "soccer-worker" not in _by(rendered["local"], "HorizontalPodAutoscaler")


def test_kubectl_is_not_required() -> None:
    """With kubectl off the PATH the fixture falls back to the renderer (same objects)."""
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = ""
    try:
        assert kustomize.kubectl_render(K8S / "overlays" / "local") is None
    finally:
        os.environ["PATH"] = path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_read_by_the_code(overlay: str, rendered: dict[str, Any]) -> None:
    from tests.deploy.settings_names import known_setting_names

    known = known_setting_names()
    keys = set(_by(rendered[overlay], "ConfigMap")["soccer-config"]["data"])
    for secret in _by(rendered[overlay], "Secret").values():
        keys |= set(secret.get("data", {}))
    unknown = sorted(k for k in keys if k.startswith("SOCCER_") and k not in known)
    assert not unknown
