"""`dvc repro` end to end in throw-away git repositories (issue 6).

One module-scoped build, shared by the assertions (two real repros cost about a minute each):

* ``origin``: a git repository made from this working tree's files, a small snapshot fetched from the
  shared data through ``file://``, ``dvc repro``, ``dvc push`` to a temporary local remote, commit;
* ``clone``: a fresh ``git clone`` of it, ``dvc pull`` and a forced ``dvc repro`` of the train stage.

DVC runs from its own tool environment (scripts/dvc.sh); stage commands run this interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from soccer_assets.cli.snapshot import dvc_dir_md5

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
LEAGUE, FIRST, LAST = "E0", "2020-21", "2023-24"
METRICS = ("metrics/evaluation.json", "metrics/champion.json")
RAW_FILE = "snapshot/football-data/mmz4281/2324/E0.csv"


def _dvc_binary() -> Path:
    venv = Path(os.environ.get("SOCCER_DVC_VENV") or REPO / ".tools" / "dvc")
    # Builds the tool environment if it is missing or stale (a no-op when scripts/bootstrap.sh ran).
    subprocess.run(["bash", str(REPO / "scripts" / "dvc.sh"), "--install-only"], check=True, timeout=600)
    return venv / "bin" / "dvc"


def _env() -> dict[str, str]:
    """The caller's environment minus anything that would point the stages at other stores."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOCCER_", "MLFLOW_", "DAGSTER_")) or k == "SOCCER_DVC_VENV"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.update({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})
    return env


@dataclass
class Build:
    origin: Path
    clone: Path
    remote: Path
    dvc: Path
    env: dict[str, str]
    origin_metrics: dict[str, bytes]
    origin_lock: str
    commit: str

    def run(self, cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        out = subprocess.run(list(args), cwd=cwd, env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if out.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n"
                                 f"{out.stderr[-4000:]}")
        return out

    def dvc_run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess:
        return self.run(cwd, str(self.dvc), *args)

    def status(self, cwd: Path) -> dict:
        return json.loads(self.dvc_run(cwd, "status", "--json").stdout or "{}")


def _copy_working_tree(dst: Path) -> None:
    """Tracked and new (not ignored) files of this checkout, as a commit of them would hold."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file() and "__pycache__" not in src.parts:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    # The committed lock and metrics describe the default params; this build starts from none.
    (dst / "dvc.lock").unlink(missing_ok=True)
    shutil.rmtree(dst / "metrics", ignore_errors=True)


@pytest.fixture(scope="module")
def build(tmp_path_factory, shared_data: Path) -> Build:
    tmp = tmp_path_factory.mktemp("dvc")
    origin, clone, remote = tmp / "origin", tmp / "clone", tmp / "remote"
    origin.mkdir()
    _copy_working_tree(origin)
    params = yaml.safe_load((origin / "params.yaml").read_text())
    params["snapshot"].update(source=shared_data.as_uri(), leagues=LEAGUE, first_season=FIRST,
                              last_season=LAST)
    # Small: one league, four seasons (the gate needs three), one test season.
    params["train"].update(leagues=LEAGUE, first_season=FIRST, last_season=LAST, test_seasons=LAST)
    (origin / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    b = Build(origin, clone, remote, _dvc_binary(), _env(), {}, "", "")
    b.run(origin, "git", "init", "-q")
    b.run(origin, "git", "add", "-A")
    b.run(origin, "git", "commit", "-qm", "code")
    b.dvc_run(origin, "remote", "modify", "--local", "local", "url", str(remote))
    # The documented refresh: fetch from the source, record it, rebuild, push, commit the lock.
    b.run(origin, sys.executable, "-m", "soccer_assets.cli", "snapshot", "fetch", "--source",
          str(shared_data), "--leagues", LEAGUE, "--first-season", FIRST, "--last-season", LAST)
    b.dvc_run(origin, "commit", "--force", "snapshot")
    b.dvc_run(origin, "repro")
    b.dvc_run(origin, "push")
    b.run(origin, "git", "add", "-A")
    b.run(origin, "git", "commit", "-qm", "snapshot + lock")
    b.commit = b.run(origin, "git", "rev-parse", "HEAD").stdout.strip()
    b.origin_lock = (origin / "dvc.lock").read_text()
    b.origin_metrics = {m: (origin / m).read_bytes() for m in METRICS}

    b.run(tmp, "git", "clone", "-q", str(origin), str(clone))
    assert not (clone / "snapshot" / "football-data").exists(), "data must come from the DVC remote"
    b.dvc_run(clone, "remote", "modify", "--local", "local", "url", str(remote))
    b.dvc_run(clone, "pull")
    # Rebuild for real in the clone (the pulled outputs would otherwise be up to date).
    b.dvc_run(clone, "repro", "--force", "train")
    return b


def _outs(lock_text: str) -> dict[str, str]:
    lock = yaml.safe_load(lock_text)
    return {f"{stage}:{o['path']}": o["md5"] for stage, s in lock["stages"].items() for o in s["outs"]}


def test_clone_rebuilds_identical_metrics(build: Build) -> None:
    # The clone ran the pipeline itself: its stage-local work dir is never pushed or pulled.
    assert (build.clone / "build" / "dvc" / "data" / "mlflow.db").is_file()
    for name in METRICS:
        assert (build.clone / name).read_bytes() == build.origin_metrics[name], name
    evaluation = json.loads(build.origin_metrics["metrics/evaluation.json"])
    overall = evaluation["seasons"][LAST]["ALL"]
    assert {"model:ratings", "model:market", "climatology", "elo"} <= set(overall)
    assert overall["model:market"]["n"] == 380
    # The model beats climatology: the metrics describe a real model, not placeholders.
    assert overall["model:market"]["rps"] < overall["climatology"]["rps"]


def test_clone_rebuilds_identical_output_hashes(build: Build) -> None:
    clone_lock = (build.clone / "dvc.lock").read_text()
    assert _outs(clone_lock) == _outs(build.origin_lock)
    assert {"snapshot:snapshot/football-data", "train:models", "train:metrics/evaluation.json"} <= set(
        _outs(clone_lock))
    # Nothing in the lock moved at all: same deps, params, outputs.
    assert clone_lock == build.origin_lock
    assert build.status(build.clone) == {}


def test_model_files_identical(build: Build) -> None:
    for variant in ("ratings", "market"):
        for name in ("booster.ubj", "model_meta.json"):
            rel = Path("models") / variant / name
            assert (build.clone / rel).read_bytes() == (build.origin / rel).read_bytes(), rel


def test_mlflow_runs_carry_snapshot_hash_and_commit(build: Build) -> None:
    from mlflow import MlflowClient

    snapshot_md5 = yaml.safe_load(build.origin_lock)["stages"]["snapshot"]["outs"][0]["md5"]
    assert snapshot_md5.endswith(".dir")
    # The stage tags runs with the hash of the files it read: the very hash DVC pinned.
    assert dvc_dir_md5(build.clone / "snapshot" / "football-data") == snapshot_md5

    uri = f"sqlite:///{build.clone / 'build' / 'dvc' / 'data' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("soccer-outcome")
    runs = client.search_runs([experiment.experiment_id])
    assert {r.data.tags["dagster.asset"] for r in runs} == {"trained_model", "champion_model"}
    for run in runs:
        assert run.data.tags.get("soccer.data_snapshot") == snapshot_md5, run.info.run_name
        assert run.data.tags.get("git_commit") == build.commit, run.info.run_name
    # The registry -> run -> tags path docs/dvc.md describes.
    version = client.get_model_version_by_alias("soccer-outcome-market", "challenger")
    tags = client.get_run(version.run_id).data.tags
    assert (tags["soccer.data_snapshot"], tags["git_commit"]) == (snapshot_md5, build.commit)


def test_dag_lists_stages_in_order(build: Build) -> None:
    dot = build.dvc_run(build.origin, "dag", "--dot").stdout
    edges = {line.strip().rstrip(";") for line in dot.splitlines() if "->" in line}
    assert edges == {'"snapshot" -> "train"'}


def test_status_marks_exactly_the_dependent_stages(build: Build) -> None:
    origin = build.origin
    assert build.status(origin) == {}

    raw = origin / RAW_FILE
    original = raw.read_bytes()
    # One edited cell (a team name) in one file of the snapshot.
    raw.write_bytes(original.replace(b",Arsenal,", b",Arsenal ,", 1))
    assert raw.read_bytes() != original
    status = build.status(origin)
    assert set(status) == {"snapshot", "train"}
    assert status["snapshot"] == [{"changed outs": {"snapshot/football-data": "modified"}}]
    assert status["train"] == [{"changed deps": {"snapshot/football-data": "modified"}}]
    build.dvc_run(origin, "checkout", "--force", "snapshot")
    assert raw.read_bytes() == original
    assert build.status(origin) == {}

    # Code is a dependency of the train stage only; docs are a dependency of nothing.
    code = origin / "soccer_assets" / "cli" / "snapshot.py"
    code_text = code.read_text()
    code.write_text(code_text + "\n# changed\n")
    assert set(build.status(origin)) == {"train"}
    code.write_text(code_text)
    readme = origin / "README.md"
    readme_text = readme.read_text()
    readme.write_text(readme_text + "\nchanged\n")
    assert build.status(origin) == {}
    readme.write_text(readme_text)
