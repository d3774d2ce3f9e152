"""Freshness checks of the current season: ``matches_fresh`` and ``team_state_fresh``.

In season, each configured league's latest stored match (in ``matches``, and the one the team
state was built up to) must be at most ``SOCCER_FRESHNESS_DAYS`` old; the rule is
:mod:`soccer_assets.monitoring.freshness`, the same one the API's ``/metrics`` exports as
``soccer_data_stale``. The checks are WARN (nothing downstream waits for them); the automation
sensor runs them every morning and after each materialization of their asset.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from soccer_assets.core.seasons import as_date
from soccer_assets.defs import features, ingestion
from soccer_assets.defs.partitions import PARTITIONS, SEASON_KEYS, loading_config
from soccer_assets.defs.resources import WarehouseResource
from soccer_assets.monitoring.freshness import Freshness, freshness
from soccer_assets.storage import prediction_log

MAX_AGE_DAYS = loading_config().freshness_days
DAILY = (
    dg.AutomationCondition.cron_tick_passed("0 7 * * *", "Europe/London")
    | dg.AutomationCondition.any_deps_updated()
).with_label("daily_and_after_each_update")


class FreshnessConfig(dg.Config):
    # The day to judge on (ISO date); empty = today (UTC). For a look back, and for the tests.
    today: str = ""


def _leagues() -> list[str]:
    return list(PARTITIONS.get_partitions_def_for_dimension("league").get_partition_keys())


def _today(config: FreshnessConfig) -> dt.date:
    return dt.date.fromisoformat(config.today) if config.today else dt.datetime.now(dt.UTC).date()


def _result(what: str, today: dt.date, by_league: dict[str, Freshness]) -> dg.AssetCheckResult:
    some = next(iter(by_league.values()), None)
    season = some.season if some else ""
    if season not in SEASON_KEYS:
        return dg.AssetCheckResult(
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{today}: the current season {season} is not among the configured seasons "
            "(SOCCER_LAST_SEASON); nothing to judge",
            metadata={"today": str(today), "max_age_days": MAX_AGE_DAYS},
        )
    stale = sorted(lg for lg, f in by_league.items() if f.stale)
    table = pd.DataFrame.from_dict({lg: f.as_dict() for lg, f in by_league.items()}, orient="index")
    in_season = bool(some and some.in_season)
    if stale:
        description = (f"{what} of {', '.join(stale)} older than {MAX_AGE_DAYS} days in season {season} "
                       f"(judged on {today})")
    elif in_season:
        description = f"{what} of every league at most {MAX_AGE_DAYS} days old on {today}"
    else:
        description = f"{today} is outside season {season}'s playing window: nothing is stale"
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "today": str(today),
            "season": season,
            "in_season": in_season,
            "max_age_days": MAX_AGE_DAYS,
            "oldest_age_days": max((f.age_days for f in by_league.values()), default=0),
            "stale_leagues": dg.MetadataValue.json(stale),
            "leagues": dg.MetadataValue.md(table.to_markdown()),
        },
    )


@dg.asset_check(
    asset=ingestion.matches,
    blocking=False,
    automation_condition=DAILY,
    description="Freshness of the current season: in season, every league's latest stored match is at "
    "most SOCCER_FRESHNESS_DAYS old (soccer_assets.monitoring.freshness).",
)
def matches_fresh(config: FreshnessConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    today = _today(config)
    latest = warehouse.get().last_match_dates()
    by_league = {lg: freshness(latest.get(lg), today, MAX_AGE_DAYS) for lg in _leagues()}
    return _result("the latest match", today, by_league)


@dg.asset_check(
    asset=features.team_state,
    blocking=False,
    automation_condition=DAILY,
    description="Freshness of the online feature store: in season, every league's team state includes "
    "a match at most SOCCER_FRESHNESS_DAYS old.",
)
def team_state_fresh(config: FreshnessConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    today = _today(config)
    # as_of is the day after the latest match the state includes.
    built_up_to = {
        str(r["league"]): as_date(r["as_of"]) - dt.timedelta(days=1)
        for r in prediction_log.team_state_summary(warehouse.get().engine)
    }
    by_league = {lg: freshness(built_up_to.get(lg), today, MAX_AGE_DAYS) for lg in _leagues()}
    return _result("the team state", today, by_league)

