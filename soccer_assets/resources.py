"""Dagster resources: the only place where the pipeline touches the outside world."""


import dagster as dg
from pydantic import PrivateAttr

from soccer_assets import settings
from soccer_assets.sources.client import FootballDataClient
from soccer_assets.warehouse.lake import Lake
from soccer_assets.warehouse.store import Warehouse


class FootballDataSource(dg.ConfigurableResource):
    """football-data.co.uk, a local HTTP mirror of it, or a ``file://`` snapshot in its layout."""

    base_url: str = settings.DEFAULT_SOURCE_URL
    timeout_seconds: float = 20.0
    max_retries: int = 4
    backoff_seconds: float = 0.5
    min_interval_seconds: float = 1.0

    def client(self) -> FootballDataClient:
        return FootballDataClient(
            self.base_url,
            timeout=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff=self.backoff_seconds,
            min_interval=self.min_interval_seconds,
        )


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


def default_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "source": FootballDataSource(
            base_url=settings.source_url(), min_interval_seconds=settings.source_min_interval()
        ),
        "lake": LakeResource(data_dir=settings.data_dir()),
        "warehouse": WarehouseResource(url=settings.warehouse_url()),
    }
