"""A small kustomize renderer for the subset of features deploy/k8s uses, so the manifests can be
rendered where no ``kubectl``/``kustomize`` binary exists (neither is a PyPI or Debian package;
PyPI's ``kustomize`` is an unrelated manifest-generation library).

Supported, with kustomize v5 semantics: ``resources`` (files and directories), ``namespace``,
``labels`` (metadata labels only), ``images``, ``configMapGenerator`` and ``secretGenerator``
(literals, files; behaviors create/merge/replace) with ``disableNameSuffixHash: true``, and
``patches`` given as JSON 6902 operations with a kind/name target. Anything else is refused with
an error rather than rendered wrongly. ``tests/deploy/test_k8s.py`` checks that this renderer's
output equals ``kubectl kustomize`` wherever kubectl is installed.
"""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

SUPPORTED_KEYS = {
    "apiVersion", "kind", "resources", "namespace", "labels", "images", "generatorOptions",
    "configMapGenerator", "secretGenerator", "patches",
}
# Kinds without a namespace (the ones a kustomization here may contain).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
    "CustomResourceDefinition", "PriorityClass", "APIService",
}


class KustomizeError(ValueError):
    """The kustomization uses a feature this renderer does not implement, or is invalid."""


def _kustomization_file(directory: Path) -> Path:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            return directory / name
    raise KustomizeError(f"no kustomization file in {directory}")


def _load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _generated(kind: str, spec: dict[str, Any], base: Path) -> dict[str, Any]:
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, sep, value = str(literal).partition("=")
        if not sep:
            raise KustomizeError(f"literal {literal!r} is not KEY=VALUE")
        data[key] = value
    for entry in spec.get("files", []):
        key, sep, rel = str(entry).partition("=")
        if not sep:
            key, rel = Path(entry).name, entry
        data[key] = (base / rel).read_text()
    unknown = set(spec) - {"name", "literals", "files", "behavior"}
    if unknown:
        raise KustomizeError(f"unsupported generator fields {sorted(unknown)}")
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}}
    if kind == "Secret":
        obj["type"] = "Opaque"
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    return obj


def _apply_generator(resources: list[dict[str, Any]], kind: str, spec: dict[str, Any], base: Path) -> None:
    new = _generated(kind, spec, base)
    behavior = spec.get("behavior", "create")
    existing = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == spec["name"]]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{kind} {spec['name']} already exists (use behavior merge/replace)")
        resources.append(new)
    elif behavior in ("merge", "replace"):
        if len(existing) != 1:
            raise KustomizeError(f"{behavior}: no single {kind} {spec['name']} to {behavior}")
        old = existing[0]
        if behavior == "merge":
            old.setdefault("data", {}).update(new["data"])
        else:
            old["data"] = new["data"]
    else:
        raise KustomizeError(f"unknown generator behavior {behavior!r}")


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(doc: dict[str, Any], ops: Iterable[dict[str, Any]]) -> None:
    """RFC 6902 add / replace / remove (the operations the overlays use)."""
    for op in ops:
        parts = _pointer(op["path"])
        parent: Any = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                parent[index] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[index]
            else:
                raise KustomizeError(f"unsupported JSON patch op {kind!r}")
        elif kind in ("add", "replace"):
            if kind == "replace" and last not in parent:
                raise KustomizeError(f"replace: {op['path']} does not exist")
            parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[last]
        else:
            raise KustomizeError(f"unsupported JSON patch op {kind!r}")


def _matches(resource: dict[str, Any], target: dict[str, Any]) -> bool:
    unknown = set(target) - {"kind", "name", "group", "version", "namespace"}
    if unknown:
        raise KustomizeError(f"unsupported patch target fields {sorted(unknown)}")
    group, _, version = resource["apiVersion"].rpartition("/")
    checks = {
        "kind": resource["kind"], "name": resource["metadata"]["name"], "group": group,
        "version": version, "namespace": resource["metadata"].get("namespace", ""),
    }
    return all(checks[k] == v for k, v in target.items())


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    spec = resource.get("spec", {})
    pod = spec.get("template", {}).get("spec", spec if resource["kind"] == "Pod" else {})
    if resource["kind"] == "CronJob":
        pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def _set_image(container: dict[str, Any], rule: dict[str, Any]) -> None:
    image = container.get("image", "")
    name, tag = image, ""
    if "@" in image:
        name = image.split("@", 1)[0]
    elif ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
    if name != rule["name"]:
        return
    new_name = rule.get("newName", name)
    if "digest" in rule:
        container["image"] = f"{new_name}@{rule['digest']}"
    elif "newTag" in rule:
        container["image"] = f"{new_name}:{rule['newTag']}"
    else:
        container["image"] = f"{new_name}:{tag}" if tag else new_name


def render(directory: Path | str) -> list[dict[str, Any]]:
    """Render the kustomization in ``directory`` to a list of objects (order not significant)."""
    base = Path(directory).resolve()
    k = yaml.safe_load(_kustomization_file(base).read_text()) or {}
    unknown = set(k) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{base}: unsupported kustomization fields {sorted(unknown)}")

    resources: list[dict[str, Any]] = []
    for entry in k.get("resources", []):
        path = (base / entry).resolve()
        resources.extend(render(path) if path.is_dir() else _load_docs(path))

    options = k.get("generatorOptions", {})
    generators = [("ConfigMap", g) for g in k.get("configMapGenerator", [])]
    generators += [("Secret", g) for g in k.get("secretGenerator", [])]
    if generators and options.get("disableNameSuffixHash") is not True:
        raise KustomizeError("generators need generatorOptions.disableNameSuffixHash: true here")
    for kind, spec in generators:
        _apply_generator(resources, kind, spec, base)

    # Transformer order of kustomize v5: patches, namespace, labels, images.
    for patch in k.get("patches", []):
        if "path" in patch:
            ops = yaml.safe_load((base / patch["path"]).read_text())
        else:
            ops = yaml.safe_load(patch["patch"])
        if not isinstance(ops, list):
            raise KustomizeError("only JSON 6902 patches (a list of operations) are supported")
        targets = [r for r in resources if _matches(r, patch.get("target", {}))]
        if not targets:
            raise KustomizeError(f"patch target {patch.get('target')} matches nothing")
        for r in targets:
            _json_patch(r, ops)

    namespace = k.get("namespace")
    if namespace:
        for r in resources:
            if r["kind"] not in CLUSTER_SCOPED:
                r["metadata"]["namespace"] = namespace
            if r["kind"] in ("RoleBinding", "ClusterRoleBinding"):
                for s in r.get("subjects", []):
                    if s.get("kind") == "ServiceAccount":
                        s["namespace"] = namespace

    for spec in k.get("labels", []):
        if spec.get("includeSelectors") or spec.get("includeTemplates"):
            raise KustomizeError("labels: only metadata labels (no selectors/templates) are supported")
        for r in resources:
            r["metadata"].setdefault("labels", {}).update(spec["pairs"])

    for rule in k.get("images", []):
        for r in resources:
            for c in _containers(r):
                _set_image(c, rule)
    return resources


def kubectl_render(directory: Path | str) -> list[dict[str, Any]] | None:
    """``kubectl kustomize`` output, or None where kubectl is not installed."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]
