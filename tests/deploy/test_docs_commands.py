"""Every command of the runbooks (and README.md) that can run offline is executed here.

Convention: a fenced block whose info string is ``bash runnable`` is run by this test, in order
within its file, with ``bash -euo pipefail`` in the repo root, against the live stack of this
package (API, worker, PostgreSQL, Redis, MLflow; see tests/deploy/stack.py). ``requires=a,b`` names
tools the block needs; the block is skipped (with the reason) where one is missing. Any other
``bash`` block must say it is not executed (first line ``# Not executed ...`` or the sentence
right before it) so nothing is silently left out.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.deploy.conftest import REPO
from tests.deploy.stack import API_KEY, LiveStack

RUNBOOKS = REPO / "docs" / "runbooks"
DOC_FILES = [REPO / "README.md", REPO / "docs" / "quickstart.md", *sorted(RUNBOOKS.glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    path: Path
    line: int
    info: str
    code: str
    before: str

    @property
    def runnable(self) -> bool:
        words = self.info.split()
        return words[:1] == ["bash"] and "runnable" in words

    @property
    def requires(self) -> list[str]:
        for w in self.info.split():
            if w.startswith("requires="):
                return w.split("=", 1)[1].split(",")
        return []


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    return [Block(path, text[: m.start()].count("\n") + 1, m.group(1).strip(), m.group(2),
                  text[max(0, m.start() - 400): m.start()]) for m in FENCE.finditer(text)]


def _env(stack: LiveStack, tmp: Path) -> dict[str, str]:
    return {
        **os.environ, **stack.env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SOCCER_API_URL": stack.api_url,
        "SOCCER_API_KEY": API_KEY,
        "SOCCER_ADMIN_KEY": API_KEY,
        "MLFLOW_TRACKING_URI": stack.env["SOCCER_MLFLOW_TRACKING_URI"],
        "HOME": str(tmp),
    }


def run_blocks(path: Path, stack: LiveStack, tmp: Path, extra: dict[str, str] | None = None) -> list[str]:
    """Run the runnable blocks of ``path``; returns their outputs. Fails on the first error."""
    outputs, skipped = [], []
    env = {**_env(stack, tmp), **(extra or {})}
    for b in blocks(path):
        if not b.runnable:
            continue
        missing = [t for t in b.requires if shutil.which(t, path=env["PATH"]) is None]
        if missing:
            skipped.append(f"{path.name}:{b.line} needs {missing}")
            continue
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", b.code], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (
            f"{path.name}:{b.line} exited {out.returncode}\n--- block\n{b.code}\n--- stdout\n"
            f"{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-3000:]}")
        outputs.append(out.stdout)
    if skipped:
        print("skipped blocks:", skipped)
    return outputs


def test_every_bash_block_is_runnable_or_says_why_not() -> None:
    silent = []
    for path in DOC_FILES:
        for b in blocks(path):
            if b.info.split()[:1] != ["bash"] or b.runnable:
                continue
            said = b.code.lstrip().lower().startswith("# not executed") or "not executed" in b.before.lower()
            if path.name == "README.md" and b.line == 3:
                # README's opening block: the text right after it says which test runs what.
                said = "not executed" in path.read_text().split("```", 2)[2][:1000].lower()
            if not said:
                silent.append(f"{path.relative_to(REPO)}:{b.line}")
    assert not silent, f"bash blocks neither runnable nor marked as not executed: {silent}"
    runnable = [b for p in DOC_FILES for b in blocks(p) if b.runnable]
    assert len(runnable) >= 10


def test_runbook_index_lists_every_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for p in RUNBOOKS.glob("*.md"):
        if p.name != "README.md":
            assert f"({p.name})" in index, p.name


@pytest.mark.integration
@pytest.mark.slow
def test_model_rollback_runbook_moves_the_champion_back(live_stack: LiveStack, tmp_path: Path) -> None:
    with live_stack.client() as c:
        assert c.get("/v1/model").json()["variants"]["ratings"]["loaded"]["version"] == "2"
    outputs = run_blocks(RUNBOOKS / "model-rollback.md", live_stack, tmp_path)
    assert len(outputs) == 3
    assert "moving" in outputs[1] and "from 2 to 1" in outputs[1]
    with live_stack.client() as c:
        assert c.get("/v1/model").json()["variants"]["ratings"]["loaded"]["version"] == "1"
    assert 'soccer_model_version{name="' in outputs[2] and "} 1.0" in outputs[2]


@pytest.mark.integration
@pytest.mark.slow
def test_stuck_jobs_runbook_finds_and_resends_a_lost_job(live_stack: LiveStack, tmp_path: Path) -> None:
    """A job row whose Redis message was lost (inserted without sending) stays queued until the
    runbook re-sends it; then the worker completes it."""
    from soccer_serving.jobs import store as jobs_store

    job_id = str(uuid.uuid4())
    item = {"league": "E0", "home_team": "Arsenal", "away_team": "Chelsea", "kickoff": "2024-01-20"}
    engine = sa.create_engine(live_stack.warehouse_url)
    with engine.begin() as conn:
        jobs_store.insert_job(conn, job_id, {"matches": [item]}, [item])
        conn.execute(sa.text("UPDATE prediction_jobs SET created_at = :t WHERE id = :id"),
                     {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), "id": job_id})
    engine.dispose()
    with live_stack.client() as c:
        assert c.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
    outputs = run_blocks(RUNBOOKS / "stuck-jobs.md", live_stack, tmp_path)
    assert len(outputs) == 3
    assert job_id in outputs[1] and "queued" in outputs[1]
    assert f"re-sent {job_id}" in outputs[2]
    assert live_stack.wait_job(job_id)["status"] == "succeeded"


@pytest.mark.integration
@pytest.mark.slow
def test_redis_down_runbook_checks_run(live_stack: LiveStack, tmp_path: Path) -> None:
    (out,) = run_blocks(RUNBOOKS / "redis-down.md", live_stack, tmp_path)
    assert '"ok": true' in out and "redis ping: True" in out


@pytest.mark.integration
@pytest.mark.slow
def test_backfill_and_deploy_runbook_checks_run(live_stack: LiveStack, tmp_path: Path) -> None:
    # The stack's warehouse has the pipeline's tables (empty) and E0 team state.
    (out,) = run_blocks(RUNBOOKS / "backfill-season.md", live_stack, tmp_path)
    assert "2023-24: no rows" in out and '"league": "E0"' in out
    outputs = run_blocks(RUNBOOKS / "deploy.md", live_stack, tmp_path)
    assert any("22 objects" in o for o in outputs)


SPECIFIC = {"model-rollback.md", "stuck-jobs.md", "redis-down.md", "backfill-season.md", "deploy.md"}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in DOC_FILES if p.name not in SPECIFIC],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_other_runnable_blocks_run(path: Path, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Runnable blocks of the other files (README.md: the lead marks which ones) run too."""
    n = sum(b.runnable for b in blocks(path))
    if n == 0:
        pytest.skip(f"{path.relative_to(REPO)} has no runnable block")
    run_blocks(path, request.getfixturevalue("live_stack"), tmp_path)
