"""Feature assets: ``match_features`` (league × season Parquet) and ``team_state`` (online store)."""

import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Iterator

import dagster as dg
import pandas as pd

from soccer_assets.core.seasons import (
    LEAGUE_DIM,
    SEASON_DIM,
    is_calendar_season,
    partition_key,
    season_key,
    split_partition_key,
)
from soccer_assets.defs import automation, ingestion
from soccer_assets.defs.ingestion import BULK, run_partitions
from soccer_assets.defs.partitions import PARTITIONS, SEASON_KEYS, earlier_seasons_mapping
from soccer_assets.defs.resources import LakeResource, WarehouseResource
from soccer_assets.features.build import ALL_FEATURES, RATING_FEATURES, build_match_features
from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import build_team_states
from soccer_assets.storage.lake import Lake

# A league-season's features depend on that league's matches of the same and every earlier season
# (ratings carry over), and on nothing later: the season dimension maps each season to itself and
# every later one (a StaticPartitionMapping goes from upstream to downstream keys).
with warnings.catch_warnings():
    # Beta in 1.13, and the way to map one dimension of a multi-partitioned asset.
    warnings.simplefilter("ignore", dg.BetaWarning)
    SAME_LEAGUE_EARLIER_SEASONS = dg.MultiPartitionMapping(
        {
            LEAGUE_DIM: dg.DimensionPartitionMapping(LEAGUE_DIM, dg.IdentityPartitionMapping()),
            SEASON_DIM: dg.DimensionPartitionMapping(SEASON_DIM, earlier_seasons_mapping(SEASON_KEYS)),
        }
    )


# Derived code versions (ADR 0014): the feature code, and this module's wiring of it.
FEATURES_CODE_VERSION = automation.code_version(__name__, "soccer_assets.features")


def feature_params() -> FeatureParams:
    return FeatureParams()


def params_hash(params: FeatureParams) -> str:
    blob = json.dumps(params.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def league_history(
    stored: dict[str, pd.DataFrame], league: str, seasons: list[str], up_to: str
) -> tuple[pd.DataFrame, list[str]]:
    """All stored matches of ``league`` from its first stored season up to ``up_to``.

    ``stored`` maps the league's stored seasons to their matches. A gap (a missing season between
    the first stored one and ``up_to``) is an error: ratings would silently skip a season. Split
    seasons and calendar years are checked apart: a league has one kind at a time (ARG played split
    seasons until 2019-20, then calendar years), and a main division never has calendar years.
    """
    wanted = [s for s in seasons if season_key(s) <= season_key(up_to)]
    present = [s for s in wanted if s in stored]
    if up_to not in present:
        raise dg.Failure(
            description=f"matches for {league}|{up_to} are not materialized; materialize them first",
            allow_retries=False,
        )
    gaps = []
    for calendar in (False, True):
        kind = [s for s in wanted if is_calendar_season(s) == calendar]
        held = [i for i, s in enumerate(kind) if s in stored]
        if held:
            gaps += [s for s in kind[held[0]:held[-1] + 1] if s not in stored]
    if gaps:
        raise dg.Failure(
            description=f"{league}: matches of {gaps} are missing between {present[0]} and {up_to}; "
            "materialize them so ratings carry over correctly",
            allow_retries=False,
        )
    return pd.concat([stored[s] for s in present], ignore_index=True), present


def lake_history(lake: Lake, league: str, seasons: list[str], up_to: str) -> tuple[pd.DataFrame, list[str]]:
    """:func:`league_history` over the matches stored in the lake."""
    stored = {
        s: lake.read_table("matches", league, s)
        for s in seasons
        if lake.has_table("matches", league, s) and season_key(s) <= season_key(up_to)
    }
    return league_history(stored, league, seasons, up_to)


def _feature_summary(df: pd.DataFrame) -> str:
    desc = pd.DataFrame(
        {
            "null_rate": df[ALL_FEATURES].isna().mean(),
            "min": df[ALL_FEATURES].min(),
            "mean": df[ALL_FEATURES].mean(),
            "max": df[ALL_FEATURES].max(),
        }
    ).round(4)
    return desc.to_markdown()


@dg.asset(
    partitions_def=PARTITIONS,
    group_name="features",
    kinds={"parquet", "pandas"},
    code_version=FEATURES_CODE_VERSION,
    io_manager_key="lake_io",
    backfill_policy=BULK,
    automation_condition=automation.on_new_data(),
    ins={"matches": dg.AssetIn(partition_mapping=SAME_LEAGUE_EARLIER_SEASONS)},
    description="Pre-match features (Elo, pi-ratings, form, rest, market) for every match of a "
    "league-season, computed from that league's earlier matches only. Automated: re-runs when the "
    "matches of its league's same or an earlier season change.",
)
def match_features(
    context: dg.AssetExecutionContext, matches: dict[str, pd.DataFrame]
) -> Iterator[dg.Output | dg.AssetObservation]:
    seasons = list(PARTITIONS.get_partitions_def_for_dimension(SEASON_DIM).get_partition_keys())
    wanted: dict[str, list[str]] = {}
    for league, season in run_partitions(context):
        wanted.setdefault(league, []).append(season)
    params = feature_params()
    frames: dict[str, pd.DataFrame] = {}
    summary: dict[str, dict[str, object]] = {}
    for league, own_seasons in wanted.items():
        stored = {split_partition_key(k)[1]: df for k, df in matches.items()
                  if split_partition_key(k)[0] == league}
        # One pass over the league's history serves every season of the run: a row's features
        # depend only on matches before it, so later seasons in the history change nothing.
        last = max(own_seasons, key=season_key)
        missing = [s for s in own_seasons if s not in stored]
        if missing:
            raise dg.Failure(
                description=f"matches for {league} {missing} are not materialized; materialize them first",
                allow_retries=False,
            )
        history, used = league_history(stored, league, seasons, last)
        feats = build_match_features(history, params)
        for season in own_seasons:
            own = feats[feats["season"] == season].reset_index(drop=True)
            frames[partition_key(league, season)] = own
            summary[partition_key(league, season)] = {
                "rows": len(own),
                "rating_null_rate": round(float(own[RATING_FEATURES].isna().mean().mean()), 6),
            }
    if len(frames) == 1:
        ((key, own),) = frames.items()
        preview = own[["date", "home_team", "away_team", "elo_diff", "pi_expected_gd", "market_p_home"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # data_version on Output
            output = dg.Output(
                own,
                data_version=dg.DataVersion(automation.frame_version(own)),
                metadata={
                    "dagster/row_count": len(own),
                    "seasons_used": dg.MetadataValue.json(used),
                    "rating_null_rate": summary[key]["rating_null_rate"],
                    "feature_params_hash": params_hash(params),
                    "summary": dg.MetadataValue.md(_feature_summary(own)),
                    "preview": dg.MetadataValue.md(preview.head(10).round(4).to_markdown(index=False)),
                },
            )
        yield output
        return
    yield dg.Output(
        frames,
        metadata={
            "dagster/row_count": sum(len(f) for f in frames.values()),
            "feature_params_hash": params_hash(params),
            "partitions": dg.MetadataValue.md(pd.DataFrame.from_dict(summary, orient="index").to_markdown()),
        },
    )
    yield from automation.partition_versions(
        "match_features", {k: automation.frame_version(f) for k, f in frames.items()}
    )


@dg.asset(
    group_name="features",
    kinds={"sql"},
    code_version=FEATURES_CODE_VERSION,
    deps=[ingestion.matches],
    automation_condition=automation.on_new_data(),
    description="Every team's current ratings and form (the online feature store read by the API); "
    "data version = hash of the states. Automated: re-runs when any league-season's matches change.",
)
def team_state(
    context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    store = lake.get()
    leagues = PARTITIONS.get_partitions_def_for_dimension(LEAGUE_DIM).get_partition_keys()
    seasons = list(PARTITIONS.get_partitions_def_for_dimension(SEASON_DIM).get_partition_keys())
    params = feature_params()
    digest = params_hash(params)
    wh = warehouse.get()
    table = []
    versions: dict[str, str] = {}
    for league in leagues:
        stored = [s for s in seasons if store.has_table("matches", league, s)]
        if not stored:
            continue
        history, _ = lake_history(store, league, seasons, stored[-1])
        states = build_team_states(history, None, params)
        last = history["date"].max().date()
        rows = [
            {
                "team": st.team,
                "season": st.season,
                "state": st.to_record(),
                "last_match_date": st.last_date,
            }
            for (lg, _team), st in sorted(states.items())
            if lg == league
        ]
        # The state holds every stored match, i.e. all matches dated before the day after the last.
        wh.replace_team_state(league, rows, as_of=last + dt.timedelta(days=1), feature_params_hash=digest)
        versions[league] = automation.json_version(rows)
        table.append({"league": league, "teams": len(rows), "last_match": str(last),
                      "current_season_teams": sum(r["season"] == stored[-1] for r in rows)})
    if not table:
        raise dg.Failure(description="no matches are materialized yet", allow_retries=False)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(automation.json_version([digest, versions])),
        metadata={
            "leagues": dg.MetadataValue.md(pd.DataFrame(table).to_markdown(index=False)),
            "teams": sum(t["teams"] for t in table),
            "feature_params_hash": digest,
        }
    )
