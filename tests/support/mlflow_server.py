"""A real MLflow tracking + registry server on loopback, for tests (no mocks)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.dagster_stack import REPO, free_port


@contextmanager
def mlflow_server(tmp: Path) -> Iterator[str]:
    """Start ``mlflow server`` (SQLite backend, local artifacts proxied) and yield its URL."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    bin_dir = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"
    log = open(tmp / "mlflow-server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(bin_dir / "mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
            "--artifacts-destination", str(tmp / "artifacts"),
            "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",
        ],
        cwd=tmp, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(tmp / 'mlflow-server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start")
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
