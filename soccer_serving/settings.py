"""Serving settings, read from the environment (prefix ``SOCCER_``) by pydantic-settings.

One object is shared by the API (``create_app``) and the job worker, so both agree on the model
names, the warehouse, the broker and the queue. What the pipeline reads too has the field name and
default of ``soccer_assets.config.SoccerConfig`` (``data_dir``, ``warehouse_url``,
``mlflow_tracking_uri``), so a fresh checkout serves what ``soccer pipeline`` wrote. Nothing is
read at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from soccer_assets.core.names import CHAMPION_ALIAS, REGISTERED_NAMES
from soccer_serving.keys import parse_keys


class ServingSettings(BaseSettings):
    """Every knob of the API and the worker. Env var = ``SOCCER_`` + upper-cased field name."""

    model_config = SettingsConfigDict(
        env_prefix="SOCCER_", extra="ignore", populate_by_name=True, protected_namespaces=()
    )

    # --- shared with the pipeline (soccer_assets.config.SoccerConfig) -----------------------
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data",
                           description="The pipeline's data dir; holds the embedded default stores.")

    # --- model registry -------------------------------------------------------------------
    mlflow_tracking_uri: str = Field(
        default="",
        validation_alias=AliasChoices("SOCCER_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry URI (falls back to MLFLOW_TRACKING_URI); "
        "default SQLite in data_dir.",
    )
    model_name_ratings: str = REGISTERED_NAMES["ratings"]
    model_name_market: str = REGISTERED_NAMES["market"]
    model_alias: str = CHAMPION_ALIAS
    registry_poll_seconds: float = Field(default=30.0, gt=0)
    # How long start-up waits for the first model load before serving (503 until a model is in).
    startup_load_timeout_seconds: float = Field(default=20.0, ge=0)
    # Bounds on each MLflow HTTP call so an unreachable registry fails fast instead of hanging.
    mlflow_request_timeout_seconds: int = Field(default=10, ge=1)
    mlflow_request_max_retries: int = Field(default=1, ge=0)

    # --- storage --------------------------------------------------------------------------
    warehouse_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir.")
    # A league's team states are re-read when they changed; the change check runs at most once per
    # this many seconds per league (0 = on every request).
    team_state_ttl_seconds: float = Field(default=5.0, ge=0)
    # A kickoff more than this many days after the league's team state (its as_of) is answered
    # with team_state.stale = true and the age (the state misses every match since), or refused
    # with 422 stale_team_state. 120 days: a state built at the end of May still serves the first
    # rounds of August without a flag; one missing most of a season does not.
    state_horizon_days: int = Field(default=120, ge=0)
    stale_state: Literal["flag", "refuse"] = "flag"

    # --- broker / jobs --------------------------------------------------------------------
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_namespace: str = "soccer"
    job_queue: str = "soccer-jobs"
    job_max_retries: int = Field(default=3, ge=0)
    job_min_backoff_ms: int = Field(default=1000, ge=0)
    job_max_backoff_ms: int = Field(default=60000, ge=0)
    job_time_limit_ms: int = Field(default=3_600_000, gt=0)
    job_max_items: int = Field(default=5000, gt=0)
    job_chunk_size: int = Field(default=50, gt=0)
    # Artificial pause per job item (tests make jobs slow enough to kill a worker mid-way).
    job_item_delay_seconds: float = Field(default=0.0, ge=0)
    # The worker's reaper: a running job whose row has not moved for job_stale_seconds (every
    # attempt start and chunk of results moves it) is queued again, or failed on its last attempt.
    job_stale_seconds: float = Field(default=600.0, gt=0)
    job_reaper_interval_seconds: float = Field(default=60.0, gt=0)
    # Dramatiq's Redis broker: a worker silent for this long is dead and its messages are requeued
    # (by the maintenance that runs on ``maintenance_chance`` out of a million broker commands).
    broker_heartbeat_timeout_ms: int = Field(default=60000, gt=0)
    broker_maintenance_chance: int = Field(default=1000, ge=0, le=1_000_000)
    worker_threads: int = Field(default=2, ge=1, le=64)
    worker_metrics_port: int | None = None

    # --- HTTP -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    # Comma-separated keys or sha256:<hex> digests (soccer_serving.auth); kept as digests only.
    # Jobs always need a key, admin routes an admin key, predict routes a key with protect_predict;
    # with none configured those routes answer 403 unless auth_disabled (local use only).
    api_keys: str = Field(default="", description="Client keys (comma-separated, or sha256:<hex>).")
    admin_api_keys: str = Field(default="", description="Admin keys (comma-separated, or sha256:<hex>).")
    auth_disabled: bool = False
    protect_predict: bool = False
    # /v1/model/reload: concurrent calls share one registry check; at most one per this interval.
    reload_min_interval_seconds: float = Field(default=5.0, ge=0)
    batch_max_items: int = Field(default=100, gt=0)
    # Both modes write in group commits from one thread (soccer_serving.logwriter). "sync": a
    # prediction is answered after the commit that logs it (a served prediction is logged, even if
    # the process is killed). "background": answered at once; a kill loses the rows answered but
    # not yet committed, at most prediction_log_max_queue (SIGTERM writes them all).
    prediction_log_mode: Literal["sync", "background"] = "sync"
    prediction_log_max_queue: int = Field(default=10_000, gt=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServingSettings:
        # The embedded defaults of SoccerConfig: SQLite stores in the data dir.
        self.data_dir = Path(self.data_dir)
        if not self.warehouse_url:
            self.warehouse_url = f"sqlite:///{self.data_dir / 'warehouse.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.data_dir / 'mlflow.db'}"
        # Only digests stay in memory (and in anything that dumps the settings).
        self.api_keys = ",".join(parse_keys(self.api_keys))
        self.admin_api_keys = ",".join(parse_keys(self.admin_api_keys))
        return self

    def api_key_list(self) -> list[str]:
        """Digests of every key that opens the client routes (client and admin keys)."""
        return [k for k in (*self.api_keys.split(","), *self.admin_api_keys.split(",")) if k]

    def admin_key_list(self) -> list[str]:
        """Digests of the admin keys."""
        return [k for k in self.admin_api_keys.split(",") if k]

    def model_names(self) -> dict[str, str]:
        return {"ratings": self.model_name_ratings, "market": self.model_name_market}
