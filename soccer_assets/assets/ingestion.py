"""Ingestion assets: ``raw_match_files`` (bytes as served) and ``matches`` (validated table)."""

import datetime as dt

import dagster as dg
import pandas as pd

from soccer_assets import quality
from soccer_assets.partitions import league_season_partitions, split_partition_key
from soccer_assets.resources import FootballDataSource, LakeResource, WarehouseResource
from soccer_assets.sources.client import SeasonNotPublished, SourceError
from soccer_assets.sources.parser import ParseError, parse_season_csv

PARTITIONS = league_season_partitions()
MATCH_CHECKS = [
    ("unique_match_key", True),
    ("result_consistent_with_goals", True),
    ("dates_inside_season", True),
    ("no_columns_dropped", True),
    ("odds_above_one", False),
    ("expected_row_count", False),
]

def _partition(context: dg.AssetExecutionContext) -> tuple[str, str]:
    return split_partition_key(str(context.partition_key))

@dg.asset(
    partitions_def=PARTITIONS,
    group_name="ingestion",
    kinds={"csv"},
    code_version="1",
    description="A league-season file exactly as football-data.co.uk serves it; data version = sha256.",
)
def raw_match_files(
    context: dg.AssetExecutionContext, source: FootballDataSource, lake: LakeResource
) -> dg.MaterializeResult:
    league, season = _partition(context)
    store = lake.get()
    cached_meta = store.read_raw_meta(league, season)
    cached = store.read_raw(league, season) if cached_meta else None
    with source.client() as client:
        try:
            fetched = client.fetch_season(
                league,
                season,
                etag=(cached_meta or {}).get("etag"),
                last_modified=(cached_meta or {}).get("last_modified"),
                cached=cached,
            )
        except SeasonNotPublished as exc:
            raise dg.Failure(
                description=f"{league} {season} is not published at the source yet: {exc}",
                allow_retries=False,
            ) from exc
        except SourceError as exc:
            raise dg.Failure(description=f"could not fetch {league} {season}: {exc}") from exc
    # Refuse to store a file we cannot parse: the previous good copy stays in place.
    try:
        parsed = parse_season_csv(fetched.content, league, season)
    except ParseError as exc:
        raise dg.Failure(
            description=f"{fetched.url} is not a valid season file ({exc}); "
            "the previously stored file was kept",
            allow_retries=False,
        ) from exc
    if not fetched.not_modified:
        store.write_raw(
            league,
            season,
            fetched.content,
            {
                "url": fetched.url,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "fetched_at": dt.datetime.now(dt.UTC).isoformat(),
            },
        )
    return dg.MaterializeResult(
        data_version=dg.DataVersion(fetched.sha256),
        metadata={
            "url": dg.MetadataValue.url(fetched.url),
            "sha256": fetched.sha256,
            "bytes": len(fetched.content),
            "rows": len(parsed.matches),
            "not_modified": fetched.not_modified,
            "attempts": fetched.attempts,
        },
    )

@dg.asset(
    partitions_def=PARTITIONS,
    group_name="ingestion",
    deps=[raw_match_files],
    kinds={"parquet", "sql"},
    code_version="1",
    check_specs=[
        dg.AssetCheckSpec(name, asset="matches", blocking=blocking) for name, blocking in MATCH_CHECKS
    ],
    description="Parsed, typed and validated matches of a league-season, in the warehouse and as Parquet.",
)
def matches(
    context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    league, season = _partition(context)
    store = lake.get()
    data = store.read_raw(league, season)
    sha = (store.read_raw_meta(league, season) or {}).get("sha256", "")
    try:
        parsed = parse_season_csv(data, league, season)
    except ParseError as exc:
        raise dg.Failure(description=f"{league} {season}: {exc}", allow_retries=False) from exc
    df = parsed.matches
    outcomes = [
        *quality.run_all(df, season),
        quality.no_columns_dropped(df, parsed.raw_records, set(parsed.mapped_columns)),
    ]
    failed = [o for o in outcomes if o.blocking and not o.passed]
    if failed:
        # Nothing is written: the previous partition stays in the warehouse and the lake.
        raise dg.Failure(
            description=f"{league} {season} failed blocking checks: "
            + "; ".join(f"{o.name} {o.metadata}" for o in failed),
            metadata={o.name: dg.MetadataValue.json(o.metadata) for o in failed},
            allow_retries=False,
        )
    written = warehouse.get().replace_partition(
        league, season, df, source_sha256=sha, run_id=context.run_id
    )
    path = store.write_table("matches", league, season, df)
    return dg.MaterializeResult(
        metadata=_matches_metadata(df, parsed.unknown_columns, parsed.blank_rows, written, str(path)),
        check_results=[
            dg.AssetCheckResult(
                check_name=o.name,
                passed=o.passed,
                severity=dg.AssetCheckSeverity.ERROR if o.blocking else dg.AssetCheckSeverity.WARN,
                description=o.description,
                metadata={k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                          for k, v in o.metadata.items()},
            )
            for o in outcomes
        ],
        data_version=dg.DataVersion(sha) if sha else None,
    )

def _matches_metadata(
    df: pd.DataFrame, unknown: list[str], blank_rows: int, written: int, path: str
) -> dict[str, object]:
    teams = sorted(set(df["home_team"]) | set(df["away_team"]))
    preview_cols = ["date", "home_team", "away_team", "fthg", "ftag", "ftr", "odds_ps_open_h"]
    preview = df[preview_cols].head(10).copy()
    preview["date"] = preview["date"].dt.strftime("%Y-%m-%d")
    share = df["ftr"].value_counts(normalize=True).reindex(["H", "D", "A"]).fillna(0.0)
    return {
        "dagster/row_count": written,
        "first_date": str(df["date"].min().date()),
        "last_date": str(df["date"].max().date()),
        "teams": dg.MetadataValue.json(teams),
        "n_teams": len(teams),
        "home_draw_away_share": dg.MetadataValue.json({k: round(float(v), 4) for k, v in share.items()}),
        "pinnacle_open_coverage": round(float(df["odds_ps_open_h"].notna().mean()), 4),
        "unknown_source_columns": dg.MetadataValue.json(unknown),
        "blank_rows_skipped": blank_rows,
        "path": dg.MetadataValue.path(path),
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
    }
