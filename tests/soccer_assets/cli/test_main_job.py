"""The README's first command, run exactly as written: the main job end to end on embedded defaults."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import shared_data_dir

REPO = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def readme_commands() -> list[str]:
    """The commands of the README's first code block (comments stripped)."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"^```bash\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block, "README.md must start with a bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def results_rps() -> dict[str, float]:
    """RPS of the two models and the baselines in docs/results.md (the measured table)."""
    text = (REPO / "docs/results.md").read_text()
    rows = re.findall(r"^\| \*?\*?([a-z_ ]+?)\*?\*? \| 2304 \| ([0-9.]+) \|", text, re.MULTILINE)
    return {name: float(rps) for name, rps in rows}


def test_readme_starts_with_the_two_commands() -> None:
    main, test = readme_commands()
    assert main.startswith("bash scripts/main.sh")
    assert test == "bash scripts/test.sh"
    assert (REPO / ".ci" / "run").read_text().strip().endswith("exec bash scripts/test.sh")


def test_readme_main_command_runs_the_whole_job(tmp_path: Path) -> None:
    main = readme_commands()[0]
    # The README's relative ../shared path is where the shared data lives beside a checkout.
    if not (REPO / "../shared/data/football-data").resolve().is_dir():
        main = main.replace("../shared/data/football-data", str(shared_data_dir()))
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"),
           "SOCCER_DATA_DIR": str(tmp_path / "data")}
    for key in ("SOCCER_LEAGUES", "SOCCER_LAST_SEASON", "SOCCER_FIRST_SEASON", "SOCCER_WAREHOUSE_URL",
                "MLFLOW_TRACKING_URI", "SOCCER_SOURCE_URL"):
        env.pop(key, None)
    proc = subprocess.run(shlex.split(main), cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "total matches: 28361; failed partitions: 0" in out
    # One bulk run for the 72 partitions, then team_state, the backtest and the champion.
    for stage in ("team_state", "walk-forward backtest 2023-24", "champion_model"):
        assert re.search(rf"^{re.escape(stage)}\s+ok", out, re.MULTILINE), stage
    table = dict(re.findall(r"^2023-24\s+(\S+)\s+2304\s+([0-9.]+)", out, re.MULTILINE))
    documented = results_rps()
    assert float(table["model:ratings"]) == pytest.approx(documented["ratings model"], abs=1e-4)
    assert float(table["model:market"]) == pytest.approx(documented["market model"], abs=1e-4)
    for baseline in ("climatology", "elo", "pinnacle_open", "pinnacle_close"):
        assert float(table[baseline]) == pytest.approx(documented[baseline], abs=1e-4)
    assert "ratings: version 1 — promoted to champion" in out
    assert "market: version 1 — promoted to champion" in out
    # The embedded defaults: SQLite Dagster storage, SQLite warehouse and MLflow store in the data dir.
    assert (tmp_path / "dagster_home" / "storage").is_dir()
    assert (tmp_path / "data" / "warehouse.db").is_file()
    assert (tmp_path / "data" / "mlflow.db").is_file()
    assert len(list((tmp_path / "data" / "match_features").rglob("*.parquet"))) == 72


def test_main_job_over_every_division_of_both_shared_folders(tmp_path: Path) -> None:
    """`--source` twice and `--leagues all`: the 20 divisions the two folders hold and the 8 extra
    leagues of their all-seasons files. The 14 further divisions start in 2019-20, so of
    2018-19..2019-20 only their 2019-20 is run, and that is said; ARG and MEX played split seasons
    then, the six others the calendar year 2019 (ADR 0015)."""
    shared = shared_data_dir()
    more = shared.parent / "football-data-more"
    if not (more / "mmz4281").is_dir():
        pytest.skip("football-data-more is not here")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"),
           "SOCCER_DATA_DIR": str(tmp_path / "data")}
    for key in ("SOCCER_LEAGUES", "SOCCER_LAST_SEASON", "SOCCER_FIRST_SEASON", "SOCCER_WAREHOUSE_URL",
                "MLFLOW_TRACKING_URI", "SOCCER_SOURCE_URL", "SOCCER_MORE_SOURCE_URLS"):
        env.pop(key, None)
    command = ["bash", "scripts/main.sh", "--source", str(shared), "--source", more.as_uri(),
               "--leagues", "all", "--first-season", "2018-19", "--last-season", "2019-20",
               "--test-seasons", "none", "--no-champion"]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "EC: the sources hold 2019-20..2019-20 of 2018-19..2019-20" in out
    assert "E0: the sources hold" not in out and "USA: the sources hold" not in out
    rows = re.findall(r"^([A-Z]+[0-9]?)\s+(20\d\d(?:-\d\d)?)\s+ok\s+(\d+)", out, re.MULTILINE)
    held = {(lg, s): int(n) for lg, s, n in rows}
    assert len(rows) == len(held) == (6 + 2) * 2 + 14 + 6
    assert ("EC", "2018-19") not in held and ("USA", "2019-20") not in held
    assert held["MEX", "2019-20"] == 275 and held["ARG", "2018-19"] == 324  # their 2018/2019 rows
    assert held["USA", "2019"] == 421 and held["IRL", "2019"] == 186
    assert "failed partitions: 0" in out and "36 partitions in" in out
    # An http(s) source cannot be listed: `all` needs the leagues named instead.
    proc = subprocess.run([*command[:3], "https://www.football-data.co.uk", *command[6:]], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "is not a local directory" in proc.stderr
