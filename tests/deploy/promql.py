"""Just enough PromQL reading to list the metric names (and label matchers) an expression uses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

# Words of PromQL that are not metric names when they are not followed by "(".
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)")
_SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")


def _clean(expr: str) -> str:
    expr = re.sub(r"<<[^>]*>>", "", expr)  # prometheus-adapter templates
    return re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables


def metric_names(expr: str) -> set[str]:
    """Metric names selected by ``expr``: identifiers that are no function, keyword, label or
    duration."""
    text = _STRING.sub('""', _clean(expr))
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        rest = text[m.end():].lstrip()
        if rest.startswith("(") or m.group(1).lower() in KEYWORDS:
            continue
        names.add(m.group(1))
    return names


def label_matchers(expr: str) -> list[tuple[str, str]]:
    """(metric, label) for every label matcher written as ``metric{label=...}``."""
    text = _clean(expr)
    out = []
    for m in _SELECTOR.finditer(text):
        inner = _STRING.sub('""', m.group(2))
        out += [(m.group(1), lab.group(1)) for lab in _MATCHER.finditer(inner)]
    return out


def exposed_names(families: Iterable[object]) -> dict[str, set[str]]:
    """Series names a Prometheus server stores for each scraped family -> label names seen."""
    out: dict[str, set[str]] = {}
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created"), "gauge": ("",), "info": ("_info",),
                "unknown": ("",)}
    for fam in families:
        name, kind = fam.name, fam.type  # type: ignore[attr-defined]
        labels = {k for s in fam.samples for k in s.labels}  # type: ignore[attr-defined]
        for suffix in suffixes.get(kind, ("",)):
            out.setdefault(name + suffix, set()).update(labels)
        for s in fam.samples:  # type: ignore[attr-defined]
            out.setdefault(s.name, set()).update(s.labels)
    return out


# Series the API exports only once the Dagster asset live_monitoring has written its figures: the
# deployment stack never runs it, the monitoring replay (tests/soccer_assets/monitoring/test_replay.py) does.
LIVE_PREFIX = "soccer_live_"
# Labels Prometheus attaches to every scraped series (not in the exposition).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "service", "endpoint"}


def monitored_expressions(repo: Path) -> list[tuple[str, str]]:
    """(where, PromQL) of every query in the Grafana dashboard, the alert rules and the adapter rules."""
    out = []
    dash = json.loads((repo / "deploy" / "grafana" / "soccer-predict.json").read_text())
    for panel in dash["panels"]:
        out += [(f"panel {panel['title']!r}", t["expr"]) for t in panel["targets"]]
    for var in dash["templating"]["list"]:
        q = var.get("query")
        if isinstance(q, dict):
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q["query"])
            assert m, q
            out.append((f"variable {var['name']}", f"{m.group(1)}{{{m.group(2)}=~\".*\"}}"))
    rules = yaml.safe_load((repo / "deploy" / "prometheus" / "alerts.yaml").read_text())
    for group in rules["groups"]:
        out += [(f"alert {r['alert']}", r["expr"]) for r in group["rules"]]
    adapter = yaml.safe_load((repo / "deploy" / "prometheus" / "adapter-rules.yaml").read_text())
    for r in adapter["rules"]["external"]:
        out += [("adapter seriesQuery", r["seriesQuery"]), ("adapter metricsQuery", r["metricsQuery"])]
    return out


def used_names(exprs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Metric name -> where it is used."""
    used: dict[str, list[str]] = {}
    for where, expr in exprs:
        names = metric_names(expr)
        # The adapter's metricsQuery is a template over its seriesQuery's metric.
        assert names or where == "adapter metricsQuery", f"{where}: no metric in {expr!r}"
        for n in names:
            used.setdefault(n, []).append(where)
    return used


def bad_label_matchers(exprs: Iterable[tuple[str, str]], scraped: Mapping[str, set[str]]) -> list[str]:
    """Label matchers on an exported metric that name a label the metric does not have."""
    bad = []
    for where, expr in exprs:
        for metric, label in label_matchers(expr):
            if metric in scraped and label not in scraped[metric] | TARGET_LABELS:
                bad.append(f"{where}: {metric} has no label {label!r} (has {sorted(scraped[metric])})")
    return bad
