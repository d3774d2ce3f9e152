"""Runs the pipeline's jobs on the current Dagster instance, one partition per run.

Used by ``soccer pipeline`` (the README's main job). Runs are real Dagster runs recorded in the
instance under ``$DAGSTER_HOME``, so the UI shows them afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from soccer_assets.partitions import split_partition_key


@dataclass
class PartitionOutcome:
    key: str
    success: bool
    rows: int | None = None
    error: str | None = None


@dataclass
class PipelineSummary:
    outcomes: list[PartitionOutcome] = field(default_factory=list)
    team_state_error: str | None = None

    @property
    def ok(self) -> bool:
        return all(o.success for o in self.outcomes) and self.team_state_error is None

    def render(self) -> str:
        lines = [f"{'league':<7} {'season':<8} {'status':<7} {'matches':>7}  note"]
        for o in self.outcomes:
            league, season = split_partition_key(o.key)
            status = "ok" if o.success else "FAILED"
            rows = "" if o.rows is None else str(o.rows)
            lines.append(f"{league:<7} {season:<8} {status:<7} {rows:>7}  {o.error or ''}")
        total = sum(o.rows or 0 for o in self.outcomes)
        lines.append(f"total matches: {total}; failed partitions: "
                     f"{sum(not o.success for o in self.outcomes)}")
        if self.team_state_error:
            lines.append(f"team_state FAILED: {self.team_state_error}")
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


def run_pipeline(keys: list[str], instance: dg.DagsterInstance | None = None) -> PipelineSummary:
    from soccer_assets.definitions import defs

    job = defs.resolve_job_def("league_season_pipeline")
    instance = instance or dg.DagsterInstance.get()
    summary = PipelineSummary()
    # Seasons in order: a season's features need the league's earlier seasons.
    for key in sorted(keys, key=lambda k: split_partition_key(k)[::-1]):
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        if not result.success:
            summary.outcomes.append(PartitionOutcome(key, False, error=_failure_message(result)))
            continue
        rows = None
        for mat in result.asset_materializations_for_node("matches"):
            value = mat.metadata.get("dagster/row_count")
            rows = int(value.value) if value is not None else None
        summary.outcomes.append(PartitionOutcome(key, True, rows=rows))
    if any(o.success for o in summary.outcomes):
        result = defs.resolve_job_def("refresh_team_state").execute_in_process(
            instance=instance, raise_on_error=False
        )
        summary.team_state_error = None if result.success else _failure_message(result)
    return summary
