"""The lake as a Dagster IO manager: one Parquet file per league-season, for one or many partitions.

A single-partition run hands over a DataFrame; a bulk run (``BackfillPolicy.single_run()``, one
run over a range of partitions) hands over ``{partition_key: DataFrame}``. Both go through the same
``Lake.write_table``, so a partition's file is byte-identical whichever way it was produced. Dagster's
pickle IO manager refuses multi-partition outputs, which is why this exists.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd

from soccer_assets.core.seasons import split_partition_key
from soccer_assets.storage.lake import Lake


class PartitionOutputError(ValueError):
    """An asset handed over frames that do not match the partitions of its run."""


def frames_by_partition(obj: object, keys: list[str]) -> dict[str, pd.DataFrame]:
    """Normalise an asset's output to ``{partition_key: frame}`` for exactly ``keys``.

    Anything else is refused before a byte is written: a missing or extra partition would leave the
    lake out of step with what Dagster records as materialized.
    """
    if isinstance(obj, pd.DataFrame):
        if len(keys) != 1:
            raise PartitionOutputError(
                f"a run over {len(keys)} partitions must return {{partition_key: DataFrame}}, "
                "not one DataFrame"
            )
        return {keys[0]: obj}
    if not isinstance(obj, Mapping):
        raise PartitionOutputError(f"expected a DataFrame or a mapping of them, got {type(obj).__name__}")
    missing = sorted(set(keys) - set(obj))
    extra = sorted(set(obj) - set(keys))
    if missing or extra:
        raise PartitionOutputError(
            f"output partitions do not match the run: missing {missing}, unexpected {extra}"
        )
    bad = [k for k, v in obj.items() if not isinstance(v, pd.DataFrame)]
    if bad:
        raise PartitionOutputError(f"partitions {bad} are not DataFrames")
    return {k: obj[k] for k in keys}


class LakeParquetIOManager(dg.ConfigurableIOManager):
    """Reads and writes ``<data_dir>/<asset>/<league>/<season>.parquet``."""

    data_dir: str

    def _lake(self) -> Lake:
        return Lake(self.data_dir)

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        asset = context.asset_key.path[-1]
        keys = sorted(context.asset_partition_keys) if context.has_asset_partitions else []
        if not keys:
            raise PartitionOutputError(f"{asset}: the lake stores league-season partitions only")
        frames = frames_by_partition(obj, keys)
        lake = self._lake()
        written = {}
        for key, frame in frames.items():
            league, season = split_partition_key(key)
            written[key] = {"rows": len(frame), "path": str(lake.write_table(asset, league, season, frame))}
        if len(keys) == 1:
            context.add_output_metadata({"path": dg.MetadataValue.path(written[keys[0]]["path"])})
        else:
            # In a bulk run Dagster copies this metadata to every partition, so it names them all.
            context.add_output_metadata({"files": dg.MetadataValue.json(written)})

    def load_input(self, context: dg.InputContext) -> dict[str, pd.DataFrame]:
        """``{partition_key: frame}`` for the upstream partitions that are stored.

        Always a mapping, even for one partition, so a consumer has one shape to handle. Partitions
        never materialized are left out rather than failing here: assets mapped to "every season
        of the league" decide themselves which gaps are errors.
        """
        asset = context.asset_key.path[-1]
        lake = self._lake()
        out: dict[str, pd.DataFrame] = {}
        for key in sorted(context.asset_partition_keys):
            league, season = split_partition_key(key)
            if lake.has_table(asset, league, season):
                out[key] = lake.read_table(asset, league, season)
        return out
