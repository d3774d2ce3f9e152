"""Dagster resources: the only place where the pipeline touches the outside world."""

import os
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import PrivateAttr

from soccer_assets.config import DEFAULT_SOURCE_URL, SoccerConfig
from soccer_assets.core.names import EXPERIMENT, SNAPSHOT_TAG
from soccer_assets.defs.io_managers import LakeParquetIOManager
from soccer_assets.defs.partitions import loading_config
from soccer_assets.sources.chain import SourceChain
from soccer_assets.sources.client import FootballDataClient
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse

if TYPE_CHECKING:
    from mlflow import MlflowClient


class FootballDataSource(dg.ConfigurableResource):
    """football-data.co.uk, a local HTTP mirror of it, or a ``file://`` snapshot in its layout;
    ``more_urls``: further sources, comma-separated, served after it (a file comes from the first
    that has it)."""

    base_url: str = DEFAULT_SOURCE_URL
    more_urls: str = ""
    timeout_seconds: float = 20.0
    max_retries: int = 4
    backoff_seconds: float = 0.5
    min_interval_seconds: float = 1.0

    def _one(self, url: str) -> FootballDataClient:
        return FootballDataClient(
            url,
            timeout=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff=self.backoff_seconds,
            min_interval=self.min_interval_seconds,
        )

    def client(self) -> FootballDataClient | SourceChain:
        more = [u.strip() for u in self.more_urls.split(",") if u.strip()]
        if not more:
            return self._one(self.base_url)
        return SourceChain([self._one(url) for url in [self.base_url, *more]])


class LakeResource(dg.ConfigurableResource):
    """Raw files and Parquet tables under ``data_dir``."""

    data_dir: str

    def get(self) -> Lake:
        return Lake(self.data_dir)


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse; SQLite by default, PostgreSQL in production and tests."""

    url: str
    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def get(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.url)
        return self._warehouse

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._warehouse is not None:
            self._warehouse.dispose()
            self._warehouse = None


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and model registry (a local SQLite store by default, a server in production)."""

    tracking_uri: str
    experiment: str = EXPERIMENT
    # Where a local store keeps artifacts; a tracking server decides this itself.
    artifact_location: str | None = None
    # DVC hash of the pinned raw-data snapshot the run reads (set by `soccer snapshot build`).
    data_snapshot: str = ""

    def run_tags(self) -> dict[str, str]:
        """Tags every training run carries besides its own: the data snapshot, when there is one."""
        return {SNAPSHOT_TAG: self.data_snapshot} if self.data_snapshot else {}

    def client(self) -> "MlflowClient":
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def activate(self) -> str:
        """Point the mlflow module at this store and return the experiment id."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment)
        if exp is None:
            return client.create_experiment(self.experiment, artifact_location=self.artifact_location)
        return exp.experiment_id


def _from_env(value: str, *names: str) -> str | dg.EnvVar:
    """``dg.EnvVar`` when the value came from one of ``names``: Dagster then shows the variable's
    name, never its value (URLs may carry passwords), and reads it again in each run process."""
    for name in names:
        if os.environ.get(name) == value:
            return dg.EnvVar(name)
    return value


def default_resources(config: SoccerConfig) -> dict[str, dg.ConfigurableResource]:
    data_dir = str(config.data_dir)
    return {
        "source": FootballDataSource(
            base_url=config.source_url, more_urls=config.more_source_urls,
            min_interval_seconds=float(config.source_min_interval or 0.0),
        ),
        "lake": LakeResource(data_dir=data_dir),
        "lake_io": LakeParquetIOManager(data_dir=data_dir),
        "warehouse": WarehouseResource(url=_from_env(config.warehouse_url, "SOCCER_WAREHOUSE_URL")),
        "mlflow_store": MlflowResource(
            tracking_uri=_from_env(config.mlflow_tracking_uri, "SOCCER_MLFLOW_TRACKING_URI",
                                   "MLFLOW_TRACKING_URI"),
            artifact_location=config.mlflow_artifact_location,
            data_snapshot=config.data_snapshot,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources=default_resources(loading_config()),
        # Every asset here is light (seconds); the multiprocess executor costs ~10 s per run.
        executor=dg.in_process_executor,
    )
