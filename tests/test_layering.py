"""The layout is a contract (docs/architecture.md): checked on the source, in a second.

* no import cycle between modules, nor between the two packages (lazy imports count too);
* ``soccer_assets`` never imports ``soccer_serving``; ``soccer_serving`` never imports Dagster or the
  pipeline's wiring and entry points; nothing imports the CLI package;
* the pure layers (core, features, modeling, monitoring) import no Dagster, IO or settings module;
* no module reads the environment at import time;
* at most 4 modules at the ``soccer_assets`` root; no module over 450 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("soccer_assets", "soccer_serving")
PURE = ("soccer_assets.core", "soccer_assets.features", "soccer_assets.modeling", "soccer_assets.monitoring")
MAX_LINES = 450


def modules(root: Path = REPO) -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            name = ".".join(f.relative_to(root).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = f
    return out


def imported_names(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module name an import statement anywhere in the file names (with its line)."""
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                parts = base.split(".")[: len(base.split(".")) - (node.level - 1)]
                target = ".".join([*parts, target] if target else parts)
            yield target, node.lineno
            for alias in node.names:
                yield f"{target}.{alias.name}", node.lineno


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for target, _ in imported_names(m, path):
            if target.split(".")[0] in PACKAGES:
                resolved = resolve(target)
                if resolved and resolved != m:
                    graph[m].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


MODULES = modules()
GRAPH = import_graph(MODULES)


def test_no_import_cycle_between_modules():
    assert cycles(GRAPH) == []


def test_no_import_cycle_between_packages():
    by_package: dict[str, set[str]] = {}
    for m, targets in GRAPH.items():
        for t in targets:
            by_package.setdefault(m.split(".")[0], set()).add(t.split(".")[0])
    assert "soccer_serving" not in by_package.get("soccer_assets", set())


def test_the_cycle_check_sees_a_cycle():
    """Not vacuous: a two-module cycle, and a lazy (function-level) import, are found."""
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_lazy_imports_count(tmp_path):
    pkg = tmp_path / "soccer_assets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text("def f():\n    from soccer_assets import two\n")
    (pkg / "two.py").write_text("from soccer_assets.one import f\n")
    (tmp_path / "soccer_serving").mkdir()
    assert cycles(import_graph(modules(tmp_path))) == [["soccer_assets.one", "soccer_assets.two"]]


def _violations(prefixes: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for m, path in MODULES.items():
        if not m.startswith(prefixes):
            continue
        for target, line in imported_names(m, path):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    return bad


def test_pure_layers_import_no_orchestration_io_or_settings():
    forbidden = ("dagster", "sqlalchemy", "httpx", "requests", "mlflow", "redis", "dramatiq", "fastapi",
                 "soccer_assets.defs", "soccer_assets.sources", "soccer_assets.storage", "soccer_assets.cli",
                 "soccer_assets.definitions", "soccer_assets.config", "soccer_serving")
    assert _violations(PURE, forbidden) == []


def test_serving_never_imports_dagster_or_the_pipeline_wiring():
    forbidden = ("dagster", "soccer_assets.defs", "soccer_assets.definitions",
                 "soccer_assets.cli")
    assert _violations(("soccer_serving",), forbidden) == []


def test_nothing_imports_the_entry_points():
    bad = [v for v in _violations(PACKAGES, ("soccer_assets.cli",)) if not v.startswith("soccer_assets/cli/")]
    assert bad == []


def test_pipeline_never_imports_serving():
    assert _violations(("soccer_assets",), ("soccer_serving",)) == []


def _module_level_env_reads(path: Path) -> list[int]:
    """Lines where the environment is read outside any function body (i.e. at import time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            for stmt in body:
                inside.update(id(n) for n in ast.walk(stmt))
    lines = []
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_no_module_reads_the_environment_at_import_time():
    bad = [f"{p.relative_to(REPO)}:{line}" for p in MODULES.values() for line in _module_level_env_reads(p)]
    assert bad == []


def test_the_env_check_sees_an_import_time_read(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\nURL = os.environ.get('X')\ndef ok():\n    return os.environ['Y']\n"
                 "def bad(default=os.getenv('Z')):\n    pass\n")
    assert _module_level_env_reads(f) == [2, 5]


def test_at_most_four_modules_at_the_package_root():
    root = sorted(p.name for p in (REPO / "soccer_assets").glob("*.py"))
    assert len(root) <= 4, root


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_450_lines(package):
    long = {str(p.relative_to(REPO)): n for p in (REPO / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
