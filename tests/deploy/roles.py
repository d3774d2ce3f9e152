"""The roles of the one project image and a check that a command really is one of them.

A role is a console script installed by the locked runtime dependencies (``uv sync --no-dev``) plus
its sub-command. A command passes when its executable is a console script of a distribution that
``uv sync --frozen --no-dev`` installs from uv.lock, its sub-command exists, and every option it
uses is accepted by that sub-command as installed here (the image installs the same lock).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import tomllib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# Role prefixes (executable + sub-commands) the deployment files may use.
ROLES: tuple[tuple[str, ...], ...] = (
    ("soccer", "serve"),
    ("soccer", "worker"),
    ("soccer", "pipeline"),
    ("soccer", "evaluate"),
    ("dagster", "code-server", "start"),
    ("dagster", "api", "grpc"),
    ("dagster", "api", "grpc-health-check"),
    ("dagster-webserver",),
    ("dagster-daemon", "run"),
    ("dagster-daemon", "liveness-check"),
    ("mlflow", "server"),
)
# Official images compose/k8s may use besides the project image (name -> allowed repositories).
OFFICIAL_IMAGES = ("postgres", "redis")


def runtime_distributions() -> set[str]:
    """Distributions ``uv sync --frozen --no-dev`` installs: the project's runtime dependency
    closure in uv.lock (dev groups excluded; only the extras that are asked for)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(project, "")]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen or name not in packages:
            continue
        seen.add((name, extra))
        pkg = packages[name]
        deps = pkg.get("optional-dependencies", {}).get(extra, []) if extra else pkg.get("dependencies", [])
        for d in deps:
            todo.append((d["name"], ""))
            todo += [(d["name"], e) for e in d.get("extra", [])]
    return {name for name, _ in seen}


def console_script_distribution(executable: str) -> str | None:
    """The distribution that installs console script ``executable`` here, or None."""
    for ep in metadata.entry_points(group="console_scripts"):
        if ep.name == executable and ep.dist is not None:
            return ep.dist.metadata["Name"].lower().replace("_", "-")
    return None


def role_of(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The longest role prefix of ``argv`` (None if it is no role)."""
    best = None
    for role in ROLES:
        if tuple(argv[: len(role)]) == role and (best is None or len(role) > len(best)):
            best = role
    return best


def _click_command(executable: str) -> Any:
    """The click command behind console script ``executable`` (its module's ``cli`` when the
    entry point is a plain ``main()`` wrapper)."""
    import click

    for ep in metadata.entry_points(group="console_scripts"):
        if ep.name == executable:
            obj = ep.load()
            if isinstance(obj, click.Command):
                return obj
            cli = getattr(importlib.import_module(ep.module), "cli", None)
            return cli if isinstance(cli, click.Command) else None
    raise AssertionError(f"no console script {executable!r} is installed")


def _argparse_help(executable: str, sub: Sequence[str]) -> str:
    """``<executable> <sub> --help`` of an argparse entry point, run in this process."""
    ep = next(e for e in metadata.entry_points(group="console_scripts") if e.name == executable)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
        ep.load()([*sub, "--help"])
    return buf.getvalue()


def role_options(roles: Iterable[tuple[str, ...]] = ROLES) -> dict[tuple[str, ...], set[str]]:
    """Every option each role accepts, read from the installed CLIs (click commands are inspected;
    argparse ones print their ``--help`` in-process). In-process: a subprocess per role would
    import Dagster or MLflow eleven times."""
    out: dict[tuple[str, ...], set[str]] = {}
    for role in roles:
        cmd = _click_command(role[0])
        if cmd is None:
            text = _argparse_help(role[0], role[1:])
            if not text:
                raise AssertionError(f"{' '.join(role)} --help printed nothing")
            out[role] = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
            continue
        for name in role[1:]:
            sub = cmd.get_command(None, name) if hasattr(cmd, "get_command") else None
            if sub is None:
                raise AssertionError(f"{' '.join(role)}: no sub-command {name!r}")
            cmd = sub
        opts = {"--help"}
        for param in cmd.params:
            opts.update(getattr(param, "opts", []))
            opts.update(getattr(param, "secondary_opts", []))
        out[role] = opts
    return out


def command_problems(argv: Sequence[str], options: dict[tuple[str, ...], set[str]]) -> list[str]:
    """Why ``argv`` is not a valid command of a project-image role (empty list = valid)."""
    argv = [str(a) for a in argv]
    role = role_of(argv)
    if role is None:
        return [f"{argv!r} is not a role of the image ({[' '.join(r) for r in ROLES]})"]
    problems = []
    dist = console_script_distribution(role[0])
    if dist is None or dist not in runtime_distributions():
        problems.append(f"{role[0]!r} is not a console script of a runtime dependency (found {dist!r})")
    for token in argv[len(role):]:
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            if flag not in options[role]:
                problems.append(f"{' '.join(role)}: option {flag} is not accepted")
    return problems
