"""The ``fixtures`` asset: the site's ``fixtures.csv`` (the next round of every league) into the
warehouse, where the API's match board and the upcoming-fixture jobs read it.

Same path as the season files: the ``source`` resource's client (timeouts, retries with backoff,
conditional requests, polite rate), the bytes kept in the lake with their validators, a pure parser
(:mod:`soccer_assets.sources.fixtures`) and checks (:mod:`soccer_assets.core.fixture_quality`).
The table is replaced as a whole, in one transaction, only when the file parses and passes the
blocking checks; otherwise the previous fixtures stay.
"""

import datetime as dt
import hashlib
import json

import dagster as dg
import pandas as pd

from soccer_assets.core.fixture_quality import FIXTURE_CHECKS, run_fixture_checks
from soccer_assets.defs import ingestion
from soccer_assets.defs.resources import FootballDataSource, LakeResource, WarehouseResource
from soccer_assets.sources.errors import SourceError
from soccer_assets.sources.fixtures import parse_fixtures_csv
from soccer_assets.sources.parser import ParseError
from soccer_assets.storage import prediction_log

LAKE_ASSET, LAKE_FOLDER, RAW_NAME, META_NAME = "fixtures", "latest", "fixtures.csv", "fixtures.meta.json"


def _cached(store) -> tuple[bytes | None, dict]:  # type: ignore[no-untyped-def]
    """The stored copy and its validators (none if the sidecar does not match the bytes)."""
    try:
        data = store.read_file(LAKE_ASSET, LAKE_FOLDER, RAW_NAME)
        meta = json.loads(store.read_file(LAKE_ASSET, LAKE_FOLDER, META_NAME))
    except (FileNotFoundError, ValueError):
        return None, {}
    if meta.get("sha256") != hashlib.sha256(data).hexdigest():
        return None, {}
    return data, meta


@dg.asset(
    group_name="fixtures",
    kinds={"csv", "sql"},
    code_version="1",
    # The checks compare the fixtures with the stored results and team names.
    deps=[ingestion.matches],
    check_specs=[dg.AssetCheckSpec(name, asset="fixtures", blocking=blocking)
                 for name, blocking in FIXTURE_CHECKS],
    description="Upcoming matches of every league from the site's fixtures.csv, with their "
    "pre-match odds, in the warehouse table `fixtures` (read by the API's /board and upcoming jobs).",
)
def fixtures(
    context: dg.AssetExecutionContext, source: FootballDataSource, lake: LakeResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    store = lake.get()
    cached, meta = _cached(store)
    with source.client() as client:
        try:
            fetched = client.fetch_fixtures(etag=meta.get("etag"), last_modified=meta.get("last_modified"),
                                            cached=cached)
        except SourceError as exc:
            # The client already retried transient faults; a 404 will not get better either.
            raise dg.Failure(description=f"could not fetch fixtures.csv: {exc}; the stored fixtures "
                             "were kept", allow_retries=False) from exc
    try:
        parsed = parse_fixtures_csv(fetched.content)
    except ParseError as exc:
        raise dg.Failure(description=f"{fetched.url} is not a valid fixtures file ({exc}); the stored "
                         "fixtures were kept", allow_retries=False) from exc
    df = parsed.fixtures
    wh = warehouse.get()
    outcomes = run_fixture_checks(df, prediction_log.known_teams(wh.engine), wh.last_match_dates())
    failed = [o for o in outcomes if o.blocking and not o.passed]
    if failed:
        raise dg.Failure(
            description="fixtures.csv failed blocking checks: "
            + "; ".join(f"{o.name} {o.metadata}" for o in failed) + " (the stored fixtures were kept)",
            allow_retries=False,
        )
    if not fetched.not_modified:
        store.write_file(LAKE_ASSET, LAKE_FOLDER, RAW_NAME, fetched.content)
        store.write_file(LAKE_ASSET, LAKE_FOLDER, META_NAME, json.dumps({
            "url": fetched.url, "etag": fetched.etag, "last_modified": fetched.last_modified,
            "sha256": fetched.sha256, "fetched_at": dt.datetime.now(dt.UTC).isoformat(),
        }, indent=1).encode())
    loaded = wh.fixtures_load()
    if loaded is not None and loaded["source_sha256"] == fetched.sha256:
        written, replaced = int(loaded["row_count"]), False
    else:
        written, replaced = wh.replace_fixtures(df, source_sha256=fetched.sha256, run_id=context.run_id), True
    by_league = df.groupby("league").size().to_dict() if len(df) else {}
    return dg.MaterializeResult(
        data_version=dg.DataVersion(fetched.sha256),
        metadata={
            "dagster/row_count": written,
            "url": dg.MetadataValue.url(fetched.url),
            "sha256": fetched.sha256,
            "not_modified": fetched.not_modified,
            "replaced": replaced,
            "attempts": fetched.attempts,
            "played_rows_skipped": parsed.played_rows,
            "blank_rows_skipped": parsed.blank_rows,
            "first_date": str(df["date"].min().date()) if len(df) else "",
            "last_date": str(df["date"].max().date()) if len(df) else "",
            "by_league": dg.MetadataValue.json({str(k): int(v) for k, v in by_league.items()}),
            "preview": dg.MetadataValue.md(_preview(df)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=o.name, passed=o.passed, description=o.description,
                severity=dg.AssetCheckSeverity.ERROR if o.blocking else dg.AssetCheckSeverity.WARN,
                metadata={k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
                          for k, v in o.metadata.items()},
            )
            for o in outcomes
        ],
    )


def _preview(df: pd.DataFrame) -> str:
    if df.empty:
        return "_no upcoming fixtures_"
    cols = ["league", "kickoff", "home_team", "away_team", *(f"odds_ps_open_{o}" for o in "hda")]
    return df[cols].head(10).astype(str).to_markdown(index=False)


refresh_fixtures_job = dg.define_asset_job(
    "refresh_fixtures",
    selection=dg.AssetSelection.assets("fixtures"),
    description="Fetch fixtures.csv and replace the warehouse's upcoming fixtures.",
)

# The site updates fixtures.csv as the odds come in (mostly Tuesdays and Fridays): every 6 hours.
fixtures_schedule = dg.ScheduleDefinition(
    name="fixtures_every_6_hours",
    job=refresh_fixtures_job,
    cron_schedule="15 */6 * * *",
    execution_timezone="Europe/London",
    description="Refresh the upcoming fixtures four times a day.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
