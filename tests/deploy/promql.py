"""Just enough PromQL reading to list the metric names (and label matchers) an expression uses."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
