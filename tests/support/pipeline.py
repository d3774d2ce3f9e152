"""Helpers to run the real Dagster assets in-process against chosen storage."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from soccer_assets.defs.io_managers import LakeParquetIOManager
from soccer_assets.defs.resources import FootballDataSource, LakeResource, WarehouseResource


def resources(source_url: str, data_dir: Path | str, warehouse_url: str) -> dict[str, object]:
    return {
        "source": FootballDataSource(
            base_url=source_url, min_interval_seconds=0.0, backoff_seconds=0.01, max_retries=3,
            timeout_seconds=2.0,
        ),
        "lake": LakeResource(data_dir=str(data_dir)),
        "lake_io": LakeParquetIOManager(data_dir=str(data_dir)),
        "warehouse": WarehouseResource(url=warehouse_url),
    }


def materialize(
    assets: Sequence[dg.AssetsDefinition],
    partition_key: str,
    res: dict[str, object],
    instance: dg.DagsterInstance | None = None,
    selection: Sequence[dg.AssetsDefinition] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize ``selection`` (default: all of ``assets``); the others only provide inputs."""
    return dg.materialize(
        list(assets),
        selection=list(selection) if selection is not None else None,
        partition_key=partition_key,
        resources=res,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def materialize_range(
    assets: Sequence[dg.AssetsDefinition],
    first: str,
    last: str,
    res: dict[str, object],
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """One run over the partition range ``first..last`` (a bulk run, as a single-run backfill does)."""
    return dg.materialize(
        list(assets),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        resources=res,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Everything the failed steps said, for asserting on the message a user would read."""
    parts = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                parts.append(data.user_failure_data.description)
            err = data.error
            while err is not None:
                parts.append(err.message)
                err = err.cause
    return "\n".join(parts)
