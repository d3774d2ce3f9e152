"""SQLAlchemy Core tables of the warehouse (create-if-missing, no migrations yet)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, STAT_COLUMNS

metadata = MetaData()

matches = Table(
    "matches",
    metadata,
    Column("match_id", String(200), primary_key=True),
    Column("league", String(8), nullable=False),
    Column("season", String(7), nullable=False),
    Column("date", Date, nullable=False),
    Column("kickoff", DateTime, nullable=False),
    Column("kickoff_time_known", Boolean, nullable=False),
    Column("home_team", String(80), nullable=False),
    Column("away_team", String(80), nullable=False),
    Column("fthg", Integer, nullable=False),
    Column("ftag", Integer, nullable=False),
    Column("ftr", String(1), nullable=False),
    Column("hthg", Integer),
    Column("htag", Integer),
    Column("htr", String(1)),
    Column("referee", String(80)),
    *[Column(c, Float) for c in STAT_COLUMNS.values()],
    *[Column(c, Float) for c in CORE_ODDS_COLUMNS],
    # Odds of the other bookmakers and every unmapped source column, verbatim.
    Column("odds_other", JSON, nullable=False),
    Column("extra", Text, nullable=False),
    Index("ix_matches_league_season", "league", "season"),
    Index("ix_matches_league_date", "league", "date"),
)

partition_loads = Table(
    "partition_loads",
    metadata,
    Column("league", String(8), primary_key=True),
    Column("season", String(7), primary_key=True),
    Column("row_count", Integer, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("dagster_run_id", String(64)),
)

# One row per partition being written (asset, league, season) and by whom: the per-partition
# writer lock of ``Warehouse.partition_locks``. A row lives only while its holder writes.
partition_locks = Table(
    "partition_locks",
    metadata,
    Column("asset", String(64), primary_key=True),
    Column("league", String(8), primary_key=True),
    Column("season", String(7), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
)

# The online feature store: every team's latest state (ratings + form), read by the API.
# ``state`` is ``soccer_assets.features.state.TeamState.to_record()``; ``as_of`` is the first date
# whose matches are NOT in the state (state = all matches dated strictly before ``as_of``).
team_state = Table(
    "team_state",
    metadata,
    Column("league", String(8), primary_key=True),
    Column("team", String(80), primary_key=True),
    Column("season", String(7), nullable=False),
    Column("state", JSON, nullable=False),
    Column("last_match_date", Date),
    Column("as_of", Date, nullable=False),
    Column("feature_params_hash", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Upcoming matches from the site's ``fixtures.csv`` (``soccer_assets.sources.fixtures``), replaced
# as a whole by the ``fixtures`` asset; read by the API's board and the upcoming-fixture jobs.
# ``match_id`` is the key the match will have once played (``league|season|home|away|date``).
fixtures = Table(
    "fixtures",
    metadata,
    Column("match_id", String(200), primary_key=True),
    Column("league", String(8), nullable=False),
    Column("season", String(7), nullable=False),
    Column("date", Date, nullable=False),
    Column("kickoff", DateTime, nullable=False),
    Column("kickoff_time_known", Boolean, nullable=False),
    Column("home_team", String(80), nullable=False),
    Column("away_team", String(80), nullable=False),
    *[Column(c, Float) for c in CORE_ODDS_COLUMNS],
    Column("odds_other", JSON, nullable=False),
    Column("extra", Text, nullable=False),
    Index("ix_fixtures_league_date", "league", "date"),
)

# One row: the fixtures file the table holds (its hash, size and when it was loaded).
fixture_loads = Table(
    "fixture_loads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("row_count", Integer, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("dagster_run_id", String(64)),
)
