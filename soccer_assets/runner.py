"""Runs the pipeline's jobs on the current Dagster instance: the README's main job.

Runs are real Dagster runs recorded in the instance under ``$DAGSTER_HOME``, so the UI shows them
afterwards. Order: every league-season (ingest + features, seasons in order because ratings carry
over) → ``team_state`` → the walk-forward backtest of the chosen test seasons → ``champion_model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from soccer_assets.partitions import split_partition_key


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


def _run(job: dg.JobDefinition, instance: dg.DagsterInstance, key: str, partition: str | None) -> tuple[
    StepOutcome, dg.ExecuteInProcessResult
]:
    result = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
    error = None if result.success else _failure_message(result)
    return StepOutcome(key, result.success, error=error), result


def run_pipeline(
    keys: list[str],
    test_seasons: list[str] | None = None,
    champion: bool = True,
    instance: dg.DagsterInstance | None = None,
) -> PipelineSummary:
    from soccer_assets.definitions import defs
    from soccer_assets.resources import default_resources

    instance = instance or dg.DagsterInstance.get()
    summary = PipelineSummary()
    job = defs.resolve_job_def("league_season_pipeline")
    for key in sorted(keys, key=lambda k: split_partition_key(k)[::-1]):
        outcome, result = _run(job, instance, key, key)
        if outcome.success:
            for mat in result.asset_materializations_for_node("matches"):
                value = mat.metadata.get("dagster/row_count")
                outcome.rows = int(value.value) if value is not None else None
        summary.partitions.append(outcome)
    if not any(o.success for o in summary.partitions):
        return summary
    summary.stages.append(_run(defs.resolve_job_def("refresh_team_state"), instance, "team_state", None)[0])

    lake = default_resources()["lake"].get()
    tables = []
    for season in test_seasons or []:
        outcome, _ = _run(defs.resolve_job_def("walk_forward_backtest"), instance,
                          f"walk-forward backtest {season}", season)
        summary.stages.append(outcome)
        if outcome.success:
            tables.append(evaluation_rows(lake, season))
    if tables:
        summary.evaluation = pd.concat(tables, ignore_index=True)
    if champion:
        outcome, result = _run(defs.resolve_job_def("train_champion"), instance, "champion_model", None)
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.check_name == "quality_gate":
                summary.gate = evaluation.metadata["gate"].value  # type: ignore[assignment]
                # A refused challenger is the gate working, not a pipeline failure.
                outcome = StepOutcome(outcome.key, True, error=None if evaluation.passed
                                      else "challenger refused by the quality gate")
        summary.stages.append(outcome)
    return summary


def evaluation_rows(lake, season: str) -> pd.DataFrame:
    """Overall metrics of both model variants and every baseline for one evaluated season."""
    frames = []
    for variant in ("ratings", "market"):
        table = pd.read_parquet(lake.season_dir("model_evaluation", season) / f"{variant}_metrics.parquet")
        table = table[table["league"] == "ALL"].drop(columns="league")
        table["forecaster"] = table["forecaster"].where(table["forecaster"] != "model", f"model:{variant}")
        frames.append(table if variant == "ratings" else table[table["forecaster"] == "model:market"])
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "season", season)
    return out
