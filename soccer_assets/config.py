"""The one settings model of the pipeline and the CLI (pydantic-settings, env prefix ``SOCCER_``).

Embedded defaults keep a fresh checkout runnable with nothing installed but the project: the site
as source, local files under ``./data``, a SQLite warehouse and a SQLite MLflow store there.
``soccer_serving.settings.ServingSettings`` uses the same field names and defaults for what both
sides read (data dir, warehouse, MLflow store, source).

Nothing here is read at import time: :func:`load_config` reads the environment when called, and
code that is handed a :class:`SoccerConfig` (the pipeline runner, the snapshot builder) never
touches the environment at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from soccer_assets.core.names import SITE_URL
from soccer_assets.core.seasons import (
    CALENDAR_LEAGUES,
    DEFAULT_LEAGUES,
    FIRST_SEASON,
    current_season,
    seasons_between,
    seasons_with_years_between,
    validate_league,
)

DEFAULT_SOURCE_URL = SITE_URL


class SoccerConfig(BaseSettings):
    """Every setting of the pipeline. Env var = ``SOCCER_`` + upper-cased field name."""

    model_config = SettingsConfigDict(env_prefix="SOCCER_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "data",
                           description="Raw files, Parquet tables and the embedded stores.")
    warehouse_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir.")
    source_url: str = Field(default=DEFAULT_SOURCE_URL,
                            description="The site, an http:// mirror or a file:// directory in its layout.")
    more_source_urls: str = Field(
        default="",
        description="Further sources after source_url, comma-separated: a league-season comes from the "
        "first that has it (e.g. the shared data folder and its football-data-more addition).",
    )
    source_min_interval: float | None = Field(
        default=None, ge=0, description="Seconds between requests; default 1 on the real site, 0 elsewhere."
    )
    mlflow_tracking_uri: str = Field(
        default="",
        validation_alias=AliasChoices("SOCCER_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry URI; default SQLite in data_dir.",
    )
    # DVC hash of the pinned raw-data snapshot the run reads (set by `soccer snapshot build`).
    data_snapshot: str = ""
    # The partitions of the code location: leagues × first_season..last_season.
    leagues: str = Field(default=",".join(DEFAULT_LEAGUES), description="Comma-separated league codes.")
    first_season: str = FIRST_SEASON
    last_season: str = Field(default="", description="Default: the current season.")
    # Declarative automation (ADR 0014). Off by default so a local `dg dev` starts nothing on its
    # own; the production overlay sets SOCCER_AUTOMATION=true (deploy/k8s/overlays/production).
    automation: bool = Field(
        default=False,
        description="Start the automation sensor (default_automation_condition_sensor) and the weekly "
        "schedule as running (SOCCER_AUTOMATION). A state set in the UI or CLI takes precedence.",
    )
    freshness_days: int = Field(
        default=21, ge=1,
        description="The current season's matches and team_state are stale when, in season, their "
        "latest match is older than this many days (SOCCER_FRESHNESS_DAYS; 21 covers an "
        "international break plus the weekly fetch).",
    )

    @field_validator("source_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/") or DEFAULT_SOURCE_URL

    @model_validator(mode="after")
    def _fill_defaults(self) -> SoccerConfig:
        self.data_dir = Path(self.data_dir)
        if not self.warehouse_url:
            self.warehouse_url = f"sqlite:///{self.data_dir / 'warehouse.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.data_dir / 'mlflow.db'}"
        for url in self.more_source_url_list():
            if url.split("://", 1)[0].lower() not in ("http", "https", "file") or "://" not in url:
                raise ValueError(f"more_source_urls: {url!r} is not an http(s):// or file:// URL")
        if self.source_min_interval is None:
            # Polite on the real site, free on a mirror or a directory.
            urls = [self.source_url, *self.more_source_url_list()]
            site = any(u.startswith(DEFAULT_SOURCE_URL) for u in urls)
            self.source_min_interval = 1.0 if site else 0.0
        for league in self.league_list():
            validate_league(league)
        self.season_list()  # validates both ends
        return self

    def more_source_url_list(self) -> list[str]:
        return [u.strip().rstrip("/") for u in self.more_source_urls.split(",") if u.strip()]

    def league_list(self) -> list[str]:
        return [s.strip() for s in self.leagues.split(",") if s.strip()] or list(DEFAULT_LEAGUES)

    def season_list(self, today: dt.date | None = None) -> list[str]:
        """The season keys of the partitions: split seasons, and the calendar years between them
        when a calendar-year league (ARG, USA …) is configured (ADR 0015)."""
        last = self.last_season or current_season(today)
        if any(lg in CALENDAR_LEAGUES for lg in self.league_list()):
            return seasons_with_years_between(self.first_season, last)
        return seasons_between(self.first_season, last)

    @property
    def mlflow_artifact_location(self) -> str | None:
        """Artifacts of a local store live beside it; a tracking server chooses its own location."""
        if self.mlflow_tracking_uri.startswith(("http://", "https://", "databricks")):
            return None
        return (self.data_dir.resolve() / "mlartifacts").as_uri()


def load_config(**overrides: object) -> SoccerConfig:
    """The settings from the environment, with ``overrides`` (field names) taking precedence."""
    return SoccerConfig(**overrides)  # type: ignore[arg-type]
