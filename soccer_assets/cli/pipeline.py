"""Runs the pipeline's jobs on the current Dagster instance: the README's main job.

Runs are real Dagster runs recorded in the instance under ``$DAGSTER_HOME``, so the UI shows them
afterwards. Order: ingest + features for every league-season (one bulk run per block of
partitions; per-partition runs, seasons in order, only to isolate a failure) → ``team_state`` →
the walk-forward backtest of the chosen test seasons → ``champion_model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dagster as dg
import pandas as pd

from soccer_assets.cli.progress import RunLogging
from soccer_assets.config import SoccerConfig
from soccer_assets.core.names import LEAGUE_TAG, VARIANTS
from soccer_assets.core.seasons import LEAGUE_DIM, SEASON_DIM, split_partition_key
from soccer_assets.storage.lake import Lake


@dataclass
class StepOutcome:
    key: str
    success: bool
    rows: int | None = None
    error: str | None = None


@dataclass
class PipelineSummary:
    partitions: list[StepOutcome] = field(default_factory=list)
    stages: list[StepOutcome] = field(default_factory=list)
    evaluation: pd.DataFrame | None = None
    gate: dict | None = None

    @property
    def ok(self) -> bool:
        return all(o.success for o in self.partitions + self.stages)

    def render(self) -> str:
        lines = [f"{'league':<7} {'season':<8} {'status':<7} {'matches':>7}  note"]
        for o in self.partitions:
            league, season = split_partition_key(o.key)
            rows = "" if o.rows is None else str(o.rows)
            status = "ok" if o.success else "FAILED"
            lines.append(f"{league:<7} {season:<8} {status:<7} {rows:>7}  {o.error or ''}")
        lines.append(f"total matches: {sum(o.rows or 0 for o in self.partitions)}; failed partitions: "
                     f"{sum(not o.success for o in self.partitions)}")
        lines.append("")
        for o in self.stages:
            lines.append(f"{o.key:<32} {'ok' if o.success else 'FAILED'}  {o.error or ''}")
        if self.evaluation is not None and len(self.evaluation):
            lines += ["", "Out-of-sample evaluation (all leagues; lower RPS / log loss / Brier is better):",
                      self.evaluation.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
        if self.gate:
            lines += ["", "Quality gate (challenger → champion):"]
            for variant, g in self.gate.items():
                verdict = (
                    "promoted to champion" if g["passed"] else "NOT promoted: " + "; ".join(g["reasons"])
                )
                lines.append(f"  {variant}: version {g['version']} — {verdict}")
        return "\n".join(lines)


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failure = event.step_failure_data
            # A dg.Failure carries our own description in user_failure_data; anything else is
            # an exception whose innermost cause is the informative part.
            if failure.user_failure_data and failure.user_failure_data.description:
                return failure.user_failure_data.description[:300]
            err = failure.error
            while err is not None and err.cause is not None:
                err = err.cause
            if err is not None:
                return err.message.strip().splitlines()[-1][:300]
    return "run failed"


class Progress(Protocol):
    """Told when each stage starts, which Dagster step runs, and how each stage ended."""

    def start(self, label: str) -> None: ...

    def step(self, step_key: str) -> None: ...

    def finish(self, ok: bool, note: str = "") -> None: ...


class _NoProgress:
    def start(self, label: str) -> None:
        pass

    def step(self, step_key: str) -> None:
        pass

    def finish(self, ok: bool, note: str = "") -> None:
        pass


@dataclass
class _Runner:
    """Runs the pipeline's jobs on one instance, with the run loggers and progress of the command."""

    instance: dg.DagsterInstance
    progress: Progress = field(default_factory=_NoProgress)
    logging: RunLogging | None = None
    # Config of named ops, applied to every run whose job has them (e.g. allow_fewer_matches).
    op_config: dict[str, dict[str, object]] = field(default_factory=dict)
    _jobs: dict[str, dg.JobDefinition] = field(default_factory=dict)

    def job(self, defs: dg.Definitions, name: str) -> dg.JobDefinition:
        if name not in self._jobs:
            job = defs.resolve_job_def(name)
            self._jobs[name] = job.with_logger_defs(dict(self.logging.logger_defs)) if self.logging else job
        return self._jobs[name]

    def run(
        self, job: dg.JobDefinition, key: str, partition: str | None, tags: dict[str, str] | None = None,
        label: str | None = None, failure_note: str | None = None, report: bool = True,
    ) -> tuple[StepOutcome, dg.ExecuteInProcessResult]:
        """One run, as one stage of the progress display (``report=False``: the caller ends it)."""
        ops = {name: {"config": c} for name, c in self.op_config.items() if job.graph.has_node_named(name)}
        run_config = None
        if self.logging is not None or ops:
            # A run config replaces the partition's own one: merge loggers and op config into the latter.
            run_config = {}
            if partition is not None and job.partitioned_config is not None:
                run_config = dict(job.partitioned_config.get_run_config_for_partition_key(partition))
            if self.logging is not None:
                run_config["loggers"] = {**run_config.get("loggers", {}), **self.logging.config}
            if ops:
                run_config["ops"] = {**run_config.get("ops", {}), **ops}
        self.progress.start(label or key)
        result = job.execute_in_process(run_config=run_config, partition_key=partition,
                                        instance=self.instance, raise_on_error=False, tags=tags)
        error = None if result.success else _failure_message(result)
        if report:
            self.progress.finish(result.success, "" if result.success else failure_note or "FAILED")
        return StepOutcome(key, result.success, error=error), result


def league_tag(keys: list[str]) -> str:
    """The league of a run's partitions, or ``multi`` for a run over several leagues."""
    leagues = {split_partition_key(k)[0] for k in keys}
    return leagues.pop() if len(leagues) == 1 else "multi"


def partition_blocks(keys: list[str], leagues: list[str], seasons: list[str]) -> list[list[str]]:
    """Cover ``keys`` with blocks that one Dagster run can take: consecutive leagues × consecutive seasons.

    Dagster reads a multi-partition key range ``E0|2021-22 .. SP1|2023-24`` per dimension (leagues
    E0..SP1 × seasons 2021-22..2023-24, in the definition's order), so a bulk run must cover such a
    rectangle exactly. Each league's seasons are split into consecutive runs, and neighbouring
    leagues with the same runs are merged. Each block is returned as its keys, first and last
    being the range's start and end; blocks come in the order they must run.
    """
    league_pos = {x: i for i, x in enumerate(leagues)}
    season_pos = {x: i for i, x in enumerate(seasons)}
    runs_by_league: dict[str, list[tuple[int, int]]] = {}
    for key in sorted(set(keys)):
        league, season = split_partition_key(key)
        if league not in league_pos or season not in season_pos:
            raise ValueError(f"partition {key} is not in the partitions definition")
        runs_by_league.setdefault(league, []).append((season_pos[season], season_pos[season]))
    for league, spans in runs_by_league.items():
        merged: list[tuple[int, int]] = []
        for a, b in sorted(spans):
            if merged and a == merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        runs_by_league[league] = merged
    rects: list[tuple[int, int, tuple[int, int]]] = []  # first league, last league, season span
    for league in sorted(runs_by_league, key=league_pos.__getitem__):
        pos = league_pos[league]
        for span in runs_by_league[league]:
            match = next((i for i, r in enumerate(rects) if r[1] == pos - 1 and r[2] == span), None)
            if match is None:
                rects.append((pos, pos, span))
            else:
                rects[match] = (rects[match][0], pos, span)
    return [
        [f"{lg}|{se}" for lg in leagues[first : last + 1] for se in seasons[span[0] : span[1] + 1]]
        # Earlier seasons first: ratings carry over, so a league's blocks must run in season order.
        for first, last, span in sorted(rects, key=lambda r: (r[2][0], r[0]))
    ]


def _rows_by_partition(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    rows: dict[str, int] = {}
    for mat in result.asset_materializations_for_node("matches"):
        by_partition = mat.metadata.get("rows_by_partition")
        if by_partition is not None:
            rows.update({k: int(v) for k, v in by_partition.value.items()})  # type: ignore[union-attr]
        elif mat.partition is not None and "dagster/row_count" in mat.metadata:
            rows[mat.partition] = int(mat.metadata["dagster/row_count"].value)  # type: ignore[arg-type]
    return rows


def ingest_partitions(
    keys: list[str], instance: dg.DagsterInstance, defs: dg.Definitions, bulk: bool = True,
    runner: _Runner | None = None,
) -> list[StepOutcome]:
    """Ingest + features for ``keys``: one Dagster run per block of partitions (see partition_blocks).

    If a bulk run fails, its partitions are re-run one by one (seasons in order, because ratings
    carry over) so that good partitions are stored and the report names the failing ones.
    """
    partitions = defs.resolve_assets_def("matches").partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    runner = runner or _Runner(instance)
    job = runner.job(defs, "league_season_pipeline")
    leagues = list(partitions.get_partitions_def_for_dimension(LEAGUE_DIM).get_partition_keys())
    seasons = list(partitions.get_partitions_def_for_dimension(SEASON_DIM).get_partition_keys())
    outcomes: list[StepOutcome] = []
    ranges = partition_blocks(keys, leagues, seasons) if bulk else [[k] for k in keys]
    retry: list[str] = []
    for chunk in ranges:
        if len(chunk) == 1:
            retry.append(chunk[0])
            continue
        tags = {"dagster/asset_partition_range_start": chunk[0],
                "dagster/asset_partition_range_end": chunk[-1],
                LEAGUE_TAG: league_tag(chunk)}
        outcome, result = runner.run(
            job, f"{chunk[0]}..{chunk[-1]}", None, tags=tags,
            label=f"ingest + features {chunk[0]}..{chunk[-1]}",
            failure_note="FAILED: re-running its partitions one by one",
        )
        if not outcome.success:
            retry.extend(chunk)
            continue
        rows = _rows_by_partition(result)
        outcomes += [StepOutcome(k, True, rows=rows.get(k)) for k in chunk]
    for key in sorted(retry, key=lambda k: split_partition_key(k)[::-1]):
        outcome, result = runner.run(job, key, key, tags={LEAGUE_TAG: league_tag([key])},
                                     label=f"ingest + features {key}")
        if outcome.success:
            outcome.rows = _rows_by_partition(result).get(key)
        outcomes.append(outcome)
    return sorted(outcomes, key=lambda o: split_partition_key(o.key)[::-1])


def run_pipeline(
    config: SoccerConfig,
    keys: list[str],
    test_seasons: list[str] | None = None,
    champion: bool = True,
    instance: dg.DagsterInstance | None = None,
    bulk: bool = True,
    progress: Progress | None = None,
    run_logging: RunLogging | None = None,
    allow_fewer_matches: bool = False,
) -> PipelineSummary:
    """Materialize ``keys`` and the stages after them with the definitions built for ``config``.

    ``progress`` hears of every run (a stage) as it starts and ends; ``run_logging`` replaces the
    runs' default Dagster loggers (the colored console logger) with its own.
    """
    from soccer_assets.definitions import build_definitions

    defs = build_definitions(config)
    instance = instance or dg.DagsterInstance.get()
    runner = _Runner(instance, progress or _NoProgress(), run_logging)
    if allow_fewer_matches:  # a logged override of the shrinking-file guard (ingestion.IngestConfig)
        runner.op_config = {op: {"allow_fewer_matches": True} for op in ("raw_match_files", "matches")}
    summary = PipelineSummary()
    summary.partitions = ingest_partitions(keys, instance, defs, bulk=bulk, runner=runner)
    if not any(o.success for o in summary.partitions):
        return summary
    summary.stages.append(runner.run(runner.job(defs, "refresh_team_state"), "team_state", None)[0])

    lake = Lake(config.data_dir)
    tables = []
    for season in test_seasons or []:
        outcome, _ = runner.run(runner.job(defs, "walk_forward_backtest"),
                                f"walk-forward backtest {season}", season)
        summary.stages.append(outcome)
        if outcome.success:
            tables.append(evaluation_rows(lake, season))
    if tables:
        summary.evaluation = pd.concat(tables, ignore_index=True)
    if champion:
        outcome, result = runner.run(runner.job(defs, "train_champion"), "champion_model", None,
                                     report=False)
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.check_name == "quality_gate":
                summary.gate = evaluation.metadata["gate"].value  # type: ignore[assignment]
                # A refused challenger is the gate working, not a pipeline failure.
                outcome = StepOutcome(outcome.key, True, error=None if evaluation.passed
                                      else "challenger refused by the quality gate")
        runner.progress.finish(outcome.success, (outcome.error or "") if outcome.success else "FAILED")
        summary.stages.append(outcome)
    return summary


def evaluation_rows(lake, season: str) -> pd.DataFrame:
    """Overall metrics of both model variants and every baseline for one evaluated season."""
    frames = []
    for variant in VARIANTS:
        table = pd.read_parquet(lake.season_dir("model_evaluation", season) / f"{variant}_metrics.parquet")
        table = table[table["league"] == "ALL"].drop(columns="league")
        table["forecaster"] = table["forecaster"].where(table["forecaster"] != "model", f"model:{variant}")
        frames.append(table if variant == "ratings" else table[table["forecaster"] == "model:market"])
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "season", season)
    return out


def run_with_progress(
    config: SoccerConfig,
    keys: list[str],
    test_seasons: list[str],
    champion: bool = True,
    bulk: bool = True,
    verbose: bool = False,
    instance: dg.DagsterInstance | None = None,
    allow_fewer_matches: bool = False,
) -> PipelineSummary:
    """:func:`run_pipeline` as the commands run it: a line per stage, the event log in a file.

    The log goes to ``<data_dir>/logs/pipeline-<UTC time>.log`` (its path is printed first);
    ``verbose`` also streams it to stderr.
    """
    from soccer_assets.cli import progress as display

    # Before MLflow is imported (and read again at download time): no artifact progress bars.
    display.quiet_mlflow_environment()
    log_path = display.log_file_path(Path(config.data_dir) / "logs")
    stages = display.StageProgress(live=False if verbose else None)
    stages.message(f"Dagster event log: {log_path}")
    with display.pipeline_logging(log_path, stages, verbose=verbose) as run_logging, stages:
        return run_pipeline(
            config, keys, test_seasons=test_seasons, champion=champion, bulk=bulk, instance=instance,
            progress=stages, run_logging=run_logging, allow_fewer_matches=allow_fewer_matches,
        )
