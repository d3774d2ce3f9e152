"""Ingestion assets: ``raw_match_files`` (bytes as served) and ``matches`` (validated table)."""

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager

import dagster as dg
import pandas as pd
from pydantic import Field

from soccer_assets.core import quality
from soccer_assets.core.seasons import partition_key, split_partition_key
from soccer_assets.defs import automation
from soccer_assets.defs.partitions import PARTITIONS
from soccer_assets.defs.resources import FootballDataSource, LakeResource, WarehouseResource
from soccer_assets.sources.fetch import CachedFile, fetch_seasons
from soccer_assets.sources.parser import ParseError, parse_season_csv
from soccer_assets.storage.lake import Lake
from soccer_assets.storage.warehouse import Warehouse

# One run over any number of league-seasons: the per-run cost (~1-10 s) dominates the work of a
# partition (~50 ms), so a backfill of every partition is one run, not 72.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    BULK = dg.BackfillPolicy.single_run()
# The asset decorator warns that `backfill_policy` is beta (1.13) each time the code location loads;
# the policy is deliberate, so the warning is noise in every run's output.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
MATCH_CHECKS = [
    ("unique_match_key", True),
    ("result_consistent_with_goals", True),
    ("dates_inside_season", True),
    ("no_columns_dropped", True),
    ("odds_above_one", False),
    ("expected_row_count", False),
]

# Derived code versions (ADR 0014): the modules that decide what each asset stores.
RAW_CODE_VERSION = automation.code_version(
    __name__, "soccer_assets.sources.client", "soccer_assets.sources.fetch", "soccer_assets.sources.parser"
)
MATCHES_CODE_VERSION = automation.code_version(
    __name__, "soccer_assets.sources.parser", "soccer_assets.core.quality", "soccer_assets.core.schema",
    "soccer_assets.core.teams", "soccer_assets.core.seasons",
)


class IngestConfig(dg.Config):
    """Run config of raw_match_files and matches."""

    allow_fewer_matches: bool = Field(
        default=False,
        description="Accept a season file with fewer matches than the stored copy (a legitimate "
        "correction by the source). Off: such a file fails the partition and nothing is replaced.",
    )


def run_partitions(context: dg.AssetExecutionContext) -> list[tuple[str, str]]:
    """The (league, season) pairs of this run: one for a partition run, many for a bulk run."""
    return [split_partition_key(str(k)) for k in context.partition_keys]


def _bulk_table(rows: dict[str, dict[str, object]]) -> dg.MetadataValue:
    return dg.MetadataValue.md(pd.DataFrame.from_dict(rows, orient="index").to_markdown())


def _stored_match_count(store: Lake, league: str, season: str) -> int | None:
    """Matches in the stored raw file, or None when there is none (or it does not parse)."""
    try:
        return len(parse_season_csv(store.read_raw(league, season), league, season).matches)
    except (FileNotFoundError, ParseError):
        return None


@dg.asset(
    partitions_def=PARTITIONS,
    group_name="ingestion",
    kinds={"csv"},
    code_version=RAW_CODE_VERSION,
    backfill_policy=BULK,
    description="A league-season file exactly as football-data.co.uk serves it; data version = sha256 "
    "(per partition, also in a bulk run). Fetched by the weekly schedule or by hand, never by automation.",
)
def raw_match_files(
    context: dg.AssetExecutionContext, config: IngestConfig, source: FootballDataSource, lake: LakeResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
    # The lock makes the comparison with the stored file and the write one step: two runs
    # fetching the same partition cannot mix one's bytes with the other's sidecar.
    with _partition_locks(context, warehouse.get(), "raw_match_files"):
        yield from _fetch_and_store(context, config, source, lake.get())


def _fetch_and_store(
    context: dg.AssetExecutionContext, config: IngestConfig, source: FootballDataSource, store: Lake
) -> Iterator[dg.MaterializeResult | dg.AssetObservation]:
    fetched_files = {}
    errors: dict[str, str] = {}

    def stored(league: str, season: str) -> CachedFile | None:
        # The previous copy makes the request conditional (a 304 costs no download).
        meta = store.read_raw_meta(league, season)
        if not meta:
            return None
        return CachedFile(store.read_raw(league, season), meta.get("etag"), meta.get("last_modified"))

    # Fetch and parse every partition before storing any: a bulk run either stores all of its
    # files or none, and a file we cannot parse never replaces the previous good copy.
    with source.client() as client:
        for item in fetch_seasons(client, run_partitions(context), cached=stored):
            league, season = item.league, item.season
            key = partition_key(league, season)
            if item.not_published:
                errors[key] = f"{league} {season} is not published at the source yet: {item.error}"
                continue
            if item.error is not None:
                errors[key] = f"could not fetch {league} {season}: {item.error}"
                continue
            fetched = item.result
            assert fetched is not None
            try:
                parsed = parse_season_csv(fetched.content, league, season)
            except ParseError as exc:
                errors[key] = (f"{fetched.url} is not a valid season file ({exc}); "
                               "the previously stored file was kept")
                continue
            refused = None if fetched.not_modified else quality.fewer_matches_than_stored(
                league, season, len(parsed.matches), _stored_match_count(store, league, season),
                "the stored file")
            if refused and not config.allow_fewer_matches:
                errors[key] = refused
                continue
            if refused:
                context.log.warning(f"allow_fewer_matches: storing it anyway. {refused}")
            fetched_files[key] = (league, season, fetched, len(parsed.matches))
    if errors:
        raise dg.Failure(
            description="; ".join(errors.values())
            + ("" if len(errors) + len(fetched_files) == 1 else " (nothing in this run was stored)"),
            metadata={"failed_partitions": dg.MetadataValue.json(errors)},
            # A file that is not published or not parseable will not get better on a retry; the
            # client already retried transient faults itself.
            allow_retries=False,
        )
    summary = {}
    for key, (league, season, fetched, rows) in fetched_files.items():
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
        summary[key] = {
            "sha256": fetched.sha256, "bytes": len(fetched.content), "rows": rows,
            "not_modified": fetched.not_modified, "attempts": fetched.attempts, "url": fetched.url,
        }
    if len(summary) == 1:
        (info,) = summary.values()
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(str(info["sha256"])),
            metadata={
                "url": dg.MetadataValue.url(str(info["url"])),
                **{k: v for k, v in info.items() if k != "url"},
            },
        )
        return
    yield dg.MaterializeResult(metadata={"partitions": _bulk_table(summary), "files": len(summary)})
    # An unchanged file keeps its data version: automation downstream sees no change.
    yield from automation.partition_versions(
        "raw_match_files", {k: str(v["sha256"]) for k, v in summary.items()}
    )


@dg.asset(
    partitions_def=PARTITIONS,
    group_name="ingestion",
    deps=[raw_match_files],
    kinds={"parquet", "sql"},
    code_version=MATCHES_CODE_VERSION,
    io_manager_key="lake_io",
    backfill_policy=BULK,
    automation_condition=automation.on_new_data(),
    check_specs=[
        dg.AssetCheckSpec(name, asset="matches", blocking=blocking) for name, blocking in MATCH_CHECKS
    ],
    description="Parsed, typed and validated matches of a league-season, in the warehouse and as Parquet; "
    "data version = hash of the table. Automated: re-runs when its file's data version changes.",
)
def matches(
    context: dg.AssetExecutionContext, config: IngestConfig, lake: LakeResource, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetObservation | dg.AssetCheckResult]:
    store = lake.get()
    wh = warehouse.get()
    parts: dict[str, tuple] = {}
    failures: dict[str, str] = {}
    # One writer per partition (whoever launched the run): the raw file is read, validated and
    # written to the warehouse and the lake under the partition's lock, so both stores always hold
    # what one run read from one raw file.
    with _partition_locks(context, wh, "matches"):
        # Validate every partition before writing any: nothing of a failing bulk run reaches the
        # warehouse or the lake, and a single failing partition leaves its previous version in place.
        for league, season in run_partitions(context):
            key = partition_key(league, season)
            data = store.read_raw(league, season)
            sha = (store.read_raw_meta(league, season) or {}).get("sha256", "")
            try:
                parsed = parse_season_csv(data, league, season)
            except ParseError as exc:
                failures[key] = f"{league} {season}: {exc}"
                continue
            df = parsed.matches
            outcomes = [
                *quality.run_all(df, season),
                quality.no_columns_dropped(df, parsed.raw_records, set(parsed.mapped_columns)),
            ]
            failed = [o for o in outcomes if o.blocking and not o.passed]
            if failed:
                failures[key] = f"{league} {season} failed blocking checks: " + "; ".join(
                    f"{o.name} {o.metadata}" for o in failed
                )
                continue
            # The warehouse is the last line: also a raw file stored by other means may not shrink it.
            refused = quality.fewer_matches_than_stored(
                league, season, len(df), wh.count_matches(league, season) or None, "the warehouse")
            if refused and not config.allow_fewer_matches:
                failures[key] = refused
                continue
            if refused:
                context.log.warning(f"allow_fewer_matches: replacing it anyway. {refused}")
            parts[key] = (league, season, sha, parsed, outcomes)
        if failures:
            raise dg.Failure(
                description="; ".join(failures.values()),
                metadata={"failed_partitions": dg.MetadataValue.json(failures)},
                allow_retries=False,
            )
        frames = {key: parsed.matches for key, (_lg, _se, _sha, parsed, _o) in parts.items()}
        written = _write_partitions(context, store, wh, parts)
    summary = {
        key: {"rows": written[key], "first_date": str(df["date"].min().date()),
              "last_date": str(df["date"].max().date()), "source_sha256": parts[key][2],
              "path": str(store.path("matches", parts[key][0], parts[key][1], "parquet"))}
        for key, df in frames.items()
    }
    if len(parts) == 1:
        ((key, (_lg, _se, _sha, parsed, outcomes)),) = parts.items()
        df = frames[key]
        yield dg.MaterializeResult(
            metadata={**_matches_metadata(df, parsed.unknown_columns, parsed.blank_rows, len(df)),
                      "path": dg.MetadataValue.path(summary[key]["path"])},
            data_version=dg.DataVersion(automation.frame_version(df)),
        )
        for o in outcomes:
            yield _check_result(o.name, o.passed, o.blocking, o.description, o.metadata)
        return
    yield dg.MaterializeResult(
        metadata={"dagster/row_count": sum(len(f) for f in frames.values()),
                  "rows_by_partition": dg.MetadataValue.json({k: len(f) for k, f in frames.items()}),
                  "partitions": _bulk_table(summary)},
    )
    yield from automation.partition_versions(
        "matches", {k: automation.frame_version(f) for k, f in frames.items()}
    )
    # Checks are reported once per run: passed only if every partition passed, with the
    # partitions that did not named in the metadata.
    per_check: dict[str, list] = {}
    for key, (_lg, _se, _sha, _parsed, outcomes) in parts.items():
        for o in outcomes:
            per_check.setdefault(o.name, []).append((key, o))
    for name, results in per_check.items():
        first = results[0][1]
        not_passed = {key: o.metadata for key, o in results if not o.passed}
        yield _check_result(name, not not_passed, first.blocking, first.description,
                            {"partitions_checked": len(results), "not_passed": not_passed})


def _partition_locks(context: dg.AssetExecutionContext, wh: Warehouse, asset: str) -> AbstractContextManager:
    """The writer locks of this run's partitions of ``asset``; a lock held by a run this instance
    knows has finished (crashed) is taken over."""

    def alive(run_id: str) -> bool | None:
        run = context.instance.get_run_by_id(run_id)
        return None if run is None else not run.is_finished

    return wh.partition_locks(asset, run_partitions(context), context.run_id, holder_alive=alive,
                              on_wait=context.log.info)


def _write_partitions(context: dg.AssetExecutionContext, store: Lake, wh: Warehouse,
                      parts: dict[str, tuple]) -> dict[str, int]:
    """Warehouse rows and Parquet files of every partition of the run, together or not at all.

    The Parquet files are staged first, moved into place inside the warehouse transaction (last,
    before its commit) and moved back if the transaction fails, so a bulk run that fails part-way
    (an IO error at partition k, a lost database) leaves every partition as it was; one that
    succeeds has written and records them all. Only a kill of the process between the files'
    move and the commit can leave new files with old rows; the next run of the partition mends it.
    """
    staged = store.stage_tables(
        "matches", {(lg, se): parsed.matches for lg, se, _sha, parsed, _o in parts.values()})
    try:
        rows = wh.replace_partitions(
            [(lg, se, parsed.matches, sha) for lg, se, sha, parsed, _o in parts.values()],
            run_id=context.run_id, before_commit=staged.install)
    except BaseException:
        staged.rollback()
        raise
    staged.commit()
    return {partition_key(lg, se): n for (lg, se), n in rows.items()}


def _check_result(
    name: str, passed: bool, blocking: bool, description: str, metadata: dict[str, object]
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                  for k, v in metadata.items()},
    )


def _matches_metadata(
    df: pd.DataFrame, unknown: list[str], blank_rows: int, written: int
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
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False)),
    }
