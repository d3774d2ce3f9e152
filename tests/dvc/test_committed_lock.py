"""The committed ``dvc.lock`` against this checkout (issue 6).

``tests/dvc/test_dvc_pipeline.py`` proves that push, pull and repro round-trip in throw-away
repositories with their own lock. These tests pin the lock that is committed:

* it is not stale: ``soccer_assets/``, ``uv.lock`` and the parameters are the ones it records, so
  ``dvc repro`` on a clean checkout rebuilds the committed ``metrics/*.json`` instead of a model
  of other code. A code change without ``bash scripts/dvc.sh repro`` fails here;
* its snapshot can be rebuilt from the source without the remote: the stage's own fetch command,
  pointed at the local mirror of football-data.co.uk, gives exactly the pinned hash. This is how a
  new machine with an empty remote gets the data (docs/dvc.md, "A new machine, an empty remote").
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from soccer_assets.cli.snapshot import dvc_dir_md5
from tests.support.mirror import Mirror

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


def _lock() -> dict:
    return yaml.safe_load((REPO / "dvc.lock").read_text())


def _dvc(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run(["bash", str(REPO / "scripts" / "dvc.sh"), *args], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"dvc {' '.join(args)}: {out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out


@pytest.fixture(scope="module")
def mirror(shared_data: Path) -> Iterator[Mirror]:
    with Mirror(shared_data) as m:
        yield m


def test_the_committed_lock_records_this_code_environment_and_parameters() -> None:
    status = json.loads(_dvc("status", "train", "--json").stdout or "{}")
    changed: dict[str, str] = {}
    for entry in status.get("train", []):
        if isinstance(entry, dict):
            for kind, items in entry.items():
                if kind in ("changed deps", "changed params") and isinstance(items, dict):
                    changed.update({f"{kind}: {k}": str(v) for k, v in items.items()})
    # The snapshot itself is absent on a clean checkout until `dvc pull`: not a code change.
    changed = {k: v for k, v in changed.items() if not k.endswith("snapshot/football-data")}
    assert not changed, (
        f"dvc.lock is stale: {changed}. Run `bash scripts/dvc.sh repro && bash scripts/dvc.sh push` "
        "and commit dvc.lock and metrics/")


def test_the_lock_checker_sees_a_code_change(tmp_path: Path) -> None:
    """A new file under soccer_assets/ is a changed dependency of train (the check above can fail)."""
    probe = REPO / "soccer_assets" / f"_lock_probe_{tmp_path.name}.py"
    probe.write_text("# temporary file of tests/dvc/test_committed_lock.py\n")
    try:
        status = json.loads(_dvc("status", "train", "--json").stdout or "{}")
    finally:
        probe.unlink()
    deps = {k: v for e in status.get("train", []) if isinstance(e, dict)
            for k, v in e.get("changed deps", {}).items()}
    assert deps.get("soccer_assets") == "modified", status


def test_the_pinned_snapshot_is_rebuilt_from_its_source(tmp_path: Path, mirror: Mirror) -> None:
    """The frozen stage's command, with --source swapped for the mirror, gives the pinned hash."""
    lock = _lock()
    pinned = lock["stages"]["snapshot"]["outs"][0]
    cmd = lock["stages"]["snapshot"]["cmd"].split()
    assert cmd[:4] == ["python", "-m", "soccer_assets.cli", "snapshot"], cmd
    args = cmd[3:]
    args[args.index("--source") + 1] = mirror.url
    out = tmp_path / "football-data"
    args[args.index("--out") + 1] = str(out)
    run = subprocess.run([sys.executable, "-m", "soccer_assets.cli", *args], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) == pinned["nfiles"]
    assert sum(p.stat().st_size for p in files) == pinned["size"]
    assert dvc_dir_md5(out) == pinned["md5"]
    assert f"DVC md5 {pinned['md5']}" in run.stdout
