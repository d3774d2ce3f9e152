"""Run the real Dagster webserver and daemon against a throw-away instance, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DagsterStack:
    url: str
    dagster_home: Path
    logs: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                       timeout=60)
        r.raise_for_status()
        body = r.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def log_tail(self, n: int = 60) -> str:
        out = []
        for f in sorted(self.logs.glob("*.log")):
            lines = f.read_text(errors="replace").splitlines()[-n:]
            out.append(f"--- {f.name}\n" + "\n".join(lines))
        return "\n".join(out)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def dagster_stack(
    tmp: Path, env: dict[str, str], *, daemon: bool = True, instance_yaml: Path | None = None
) -> Iterator[DagsterStack]:
    """Webserver (+ daemon) on ``workspace.yaml`` with ``DAGSTER_HOME`` in ``tmp``.

    ``instance_yaml`` defaults to the repository's root ``dagster.yaml`` (PostgreSQL storage,
    which then needs ``DAGSTER_PG_URL`` in ``env``).
    """
    home = tmp / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(instance_yaml or REPO / "dagster.yaml", home / "dagster.yaml")
    logs = tmp / "logs"
    logs.mkdir(exist_ok=True)
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    port = free_port()
    bin_dir = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, args: list[str]) -> None:
        fh = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(args, cwd=REPO, env=full_env, stdout=fh, stderr=subprocess.STDOUT,
                                      start_new_session=True))

    start("webserver", [str(bin_dir / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
                        "-p", str(port)])
    if daemon:
        start("daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"])
    stack = DagsterStack(f"http://127.0.0.1:{port}", home, logs)
    try:
        deadline = time.monotonic() + 120
        while True:
            if procs[0].poll() is not None:
                raise RuntimeError(f"webserver exited early:\n{stack.log_tail()}")
            try:
                if httpx.get(f"{stack.url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"webserver did not start:\n{stack.log_tail()}")
            time.sleep(0.5)
        yield stack
    finally:
        for p in procs:
            _stop(p)
