"""What `soccer pipeline` prints: one line per stage, the final tables, and nothing from the libraries."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from soccer_assets.cli.progress import (
    CLOUDPICKLE_WARNING,
    StageProgress,
    log_file_path,
    pipeline_logging,
    silence_cloudpickle_warning,
)

REPO = Path(__file__).resolve().parents[3]
ANSI = re.compile(r"\x1b\[")
# Library noise that must not reach the terminal: warnings, tqdm bars, MLflow's stderr prints.
NOISE = re.compile(r"warn|%\||it/s|Successfully registered|CloudPickle|DEBUG", re.IGNORECASE)


def _soccer() -> list[str]:
    script = Path(sys.executable).with_name("soccer")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "soccer_assets.cli"]


def _source(shared: Path) -> str:
    # The command as the issue states it, from the repository root; the shared data elsewhere if need be.
    relative = REPO / "../shared/data/football-data"
    return "../shared/data/football-data" if relative.resolve().is_dir() else str(shared)


def _env(home: Path) -> dict[str, str]:
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    for key in ("SOCCER_LEAGUES", "SOCCER_LAST_SEASON", "SOCCER_FIRST_SEASON", "SOCCER_WAREHOUSE_URL",
                "MLFLOW_TRACKING_URI", "SOCCER_MLFLOW_TRACKING_URI", "SOCCER_SOURCE_URL", "SOCCER_DATA_DIR",
                "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"):
        env.pop(key, None)
    return env


def _log_path(out: str) -> Path:
    match = re.search(r"^Dagster event log: (\S+)$", out, re.MULTILINE)
    assert match, out
    return Path(match.group(1))


# --- the pieces, fast -------------------------------------------------------------------------------


def test_stage_lines_in_a_pipe_are_plain_and_one_per_stage() -> None:
    buf = io.StringIO()
    progress = StageProgress(Console(file=buf, width=40))
    assert not progress.live
    with progress:
        progress.start("ingest + features E0|2021-22..E0|2023-24")
        progress.step("matches")  # no spinner to update: nothing printed
        progress.finish(True)
        progress.start("champion_model")
        progress.finish(False, "FAILED: " + "x" * 100)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2, lines  # no wrapping at the console's width either
    assert re.match(r"^✓ ingest \+ features E0\|2021-22\.\.E0\|2023-24 +\d+\.\d s$", lines[0])
    assert lines[1].startswith("✗ champion_model") and lines[1].endswith("x" * 100)
    assert not ANSI.search(buf.getvalue())


def test_stage_lines_on_a_terminal_come_with_a_spinner_that_goes_away() -> None:
    buf = io.StringIO()
    progress = StageProgress(Console(file=buf, force_terminal=True, width=100))
    assert progress.live
    with progress:
        progress.start("team_state")
        progress.step("team_state")
        progress.finish(True)
    text = ANSI.sub("", buf.getvalue())
    assert "✓ team_state" in text


def test_log_file_names_are_fresh(tmp_path: Path) -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
    first = log_file_path(tmp_path / "logs", now)
    assert first.name == "pipeline-20240501T120000Z.log"
    first.touch()
    assert log_file_path(tmp_path / "logs", now).name == "pipeline-20240501T120000Z-1.log"


def test_pipeline_logging_routes_library_logs_to_the_file_and_restores(tmp_path: Path, capsys) -> None:
    import mlflow  # noqa: F401

    path = tmp_path / "pipeline.log"
    mlflow_logger = logging.getLogger("mlflow")
    before = (list(mlflow_logger.handlers), mlflow_logger.propagate, logging.getLogger().handlers[:])
    with pipeline_logging(path) as run_logging:
        assert set(run_logging.config) == {"pipeline_log_file"}
        logging.getLogger("mlflow.store.db.utils").info("Creating initial MLflow database tables...")
        logging.getLogger("alembic.runtime.migration").warning("alembic says")
        logging.getLogger("soccer_assets.sources.client").warning("retrying a download")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library warning", UserWarning, stacklevel=1)
        from mlflow.utils.logging_utils import eprint

        eprint("Successfully registered model 'x'.")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    text = path.read_text()
    for expected in ("Creating initial MLflow database tables", "alembic says", "retrying a download",
                     "a library warning", "Successfully registered model 'x'."):
        assert expected in text
    assert (list(mlflow_logger.handlers), mlflow_logger.propagate, logging.getLogger().handlers) == before


def test_the_cloudpickle_warning_alone_is_dropped(caplog) -> None:
    silence_cloudpickle_warning()
    silence_cloudpickle_warning()  # idempotent
    pyfunc = logging.getLogger("mlflow.pyfunc")
    assert len(pyfunc.filters) == len({id(f) for f in pyfunc.filters})
    with caplog.at_level(logging.INFO, logger="mlflow.pyfunc"):
        pyfunc.propagate, was = True, pyfunc.propagate
        try:
            pyfunc.warning(CLOUDPICKLE_WARNING + " using CloudPickle, ...")
            pyfunc.warning("another MLflow warning")
        finally:
            pyfunc.propagate = was
    messages = [r.getMessage() for r in caplog.records if r.name == "mlflow.pyfunc"]
    assert messages == ["another MLflow warning"]


# --- the command, end to end ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_pipeline_prints_progress_and_tables_only(tmp_path: Path, shared_data: Path) -> None:
    """The issue's 3-season run, stdout a pipe: ≤ 40 lines, one per stage, the event log in a file."""
    command = [*_soccer(), "pipeline", "--source", _source(shared_data), "--leagues", "E0",
               "--first-season", "2021-22", "--last-season", "2023-24", "--test-seasons", "2023-24",
               "--data-dir", str(tmp_path / "data")]
    proc = subprocess.run(command, cwd=REPO, env=_env(tmp_path / "home"), capture_output=True, text=True,
                          timeout=600)
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    lines = (out + err).splitlines()
    assert len(lines) <= 40, out + err
    assert err == ""
    assert not ANSI.search(out)
    assert not NOISE.search(out + err), out + err
    # One line per stage as it finished, before the tables.
    stages = [line for line in lines if line[:2] in ("✓ ", "✗ ")]
    assert [re.split(r"\s{2,}", s[2:])[0] for s in stages] == [
        "ingest + features E0|2021-22..E0|2023-24", "team_state", "walk-forward backtest 2023-24",
        "champion_model",
    ]
    assert all(s.startswith("✓") for s in stages)
    # The event log: in the data directory, named first, holding Dagster's events (and MLflow's logs).
    log = _log_path(out)
    assert lines[0] == f"Dagster event log: {log}"
    assert log.parent == tmp_path / "data" / "logs" and log.is_file()
    text = log.read_text()
    for event in ("RUN_START", "STEP_SUCCESS", "RUN_SUCCESS", "ASSET_MATERIALIZATION"):
        assert event in text
    assert "mlflow" in text
    assert CLOUDPICKLE_WARNING not in text
    # The final tables, as before.
    assert "total matches: 1140; failed partitions: 0" in out
    for stage in ("team_state", "walk-forward backtest 2023-24", "champion_model"):
        assert re.search(rf"^{re.escape(stage)}\s+ok", out, re.MULTILINE), stage
    assert re.search(r"^2023-24\s+model:market\s+380\s+0\.\d{4}", out, re.MULTILINE)
    assert "Quality gate (challenger → champion):" in out
    assert re.search(r"^  market: version 1 — ", out, re.MULTILINE)
    assert re.search(r"^3 partitions in [\d.]+ s$", out, re.MULTILINE)


@pytest.mark.slow
@pytest.mark.integration
def test_pipeline_verbose_streams_the_event_log(tmp_path: Path, shared_data: Path) -> None:
    command = [*_soccer(), "pipeline", "--source", str(shared_data), "--leagues", "E0",
               "--first-season", "2023-24", "--last-season", "2023-24", "--test-seasons", "none",
               "--no-champion", "--data-dir", str(tmp_path / "data"), "--verbose"]
    proc = subprocess.run(command, cwd=REPO, env=_env(tmp_path / "home"), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # Dagster's console logger, as without the log file: every event on stderr...
    for event in ("RUN_START", "STEP_SUCCESS", "RUN_SUCCESS"):
        assert re.search(rf" - dagster - DEBUG - league_season_pipeline - .* - {event} - ", proc.stderr)
    # ...and in the file, which is still written; stdout keeps the stage lines and the tables.
    log = _log_path(proc.stdout)
    assert "RUN_SUCCESS" in log.read_text()
    assert re.search(r"^✓ ingest \+ features E0\|2023-24 ", proc.stdout, re.MULTILINE)
    assert re.search(r"^✓ team_state ", proc.stdout, re.MULTILINE)
    assert "total matches: 380; failed partitions: 0" in proc.stdout
