"""The match board in a real browser (Debian's chromium via Playwright), on the site as it stood on
22 April 2022: the 2021-22 E0 and D1 files cut to the matches before the first fixture, plus the
shared ``fixtures.csv`` (that day's snapshot).

The whole path is real: the mirror serves that site over HTTP, the pipeline's assets ingest it
(``raw_match_files`` → ``matches`` → ``team_state``, and ``fixtures``) into PostgreSQL, the
champions are registered in MLflow as the pipeline registers them, and the API runs under uvicorn.
Proves: the board shows every fixture of the two leagues with three probabilities that sum to 1
and equal ``/v1/predict``'s for the request a client would send; the filters change the rows; the
team page plots the rating history; once the site publishes the results, the track record scores
what the board showed, with its plots; no page logs a console error. Screenshots of every page go
to a temporary directory (and, with ``SOCCER_UPDATE_SCREENSHOTS=1``, the board's to ``docs/img``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import httpx
import pytest

from soccer_assets.defs.features import team_state
from soccer_assets.defs.fixtures import fixtures
from soccer_assets.defs.ingestion import matches, raw_match_files
from soccer_serving.main import create_app
from soccer_serving.settings import ServingSettings
from tests.conftest import REPO, fresh_db_url
from tests.soccer_serving.support import REDIS_URL, register_pipeline_model
from tests.support.browser import PageErrors, browser, serve_app
from tests.support.mirror import Mirror
from tests.support.pipeline import materialize, resources
from tests.support.site import decode, full_season_files, site_as_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEASON, CODE = "2021-22", "2122"
FILES = [(CODE, "E0"), (CODE, "D1")]


def _fixture_rows(shared: Path) -> list[dict[str, str]]:
    text = decode((shared / "fixtures.csv").read_bytes())
    return [r for r in csv.DictReader(io.StringIO(text)) if r["Div"] in {lg for _, lg in FILES}]


def _prices(row: dict[str, str], *cols: str) -> list[float] | None:
    try:
        values = [float(row[c]) for c in cols]
    except (KeyError, ValueError):
        return None
    return values if all(v > 1.0 for v in values) else None


def client_request(row: dict[str, str]) -> dict[str, Any]:
    """What a client would send for a fixtures.csv row, read straight from the CSV: the opening odds
    of Pinnacle (else the market average) and the average over/under 2.5 prices (else Pinnacle's)."""
    d, m, y = (int(x) for x in row["Date"].split("/"))
    body: dict[str, Any] = {"league": row["Div"], "home_team": row["HomeTeam"], "away_team": row["AwayTeam"],
                            "kickoff": dt.date(y, m, d).isoformat()}
    odds = _prices(row, "PSH", "PSD", "PSA") or _prices(row, "AvgH", "AvgD", "AvgA")
    if odds:
        body["odds"] = dict(zip(("home", "draw", "away"), odds, strict=True))
    totals = _prices(row, "Avg>2.5", "Avg<2.5") or _prices(row, "P>2.5", "P<2.5")
    if totals:
        body["totals_odds"] = {"over": totals[0], "under": totals[1]}
    return body


def _ingest(res: dict[str, Any]) -> None:
    for _, league in FILES:
        result = materialize([raw_match_files, matches], f"{league}|{SEASON}", res)
        assert result.success, league


@pytest.fixture(scope="module")
def ctx(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, mlflow_uri: str, redis_namespace: str,
        ratings_with_goals: Any, market_with_goals: Any, e0_features: Any) -> Iterator[SimpleNamespace]:
    site = tmp_path_factory.mktemp("site-2022-04-22")
    day = site_as_of(shared_data, site, FILES)
    assert day == dt.date(2022, 4, 22)
    example = e0_features.head(50)
    register_pipeline_model(mlflow_uri, "board-ratings", ratings_with_goals, example)
    register_pipeline_model(mlflow_uri, "board-market", market_with_goals, example)
    with fresh_db_url("soccer_board") as url, Mirror(site) as mirror:
        res = resources(mirror.url, tmp_path_factory.mktemp("board-data"), url)
        _ingest(res)
        loaded = dg.materialize([team_state, fixtures], resources=res,
                                instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
        assert loaded.success
        settings = ServingSettings(
            warehouse_url=url, mlflow_tracking_uri=mlflow_uri, model_name_ratings="board-ratings",
            model_name_market="board-market", redis_url=REDIS_URL, broker_namespace=redis_namespace,
            job_queue="board-jobs", team_state_ttl_seconds=0, registry_poll_seconds=3600,
            startup_load_timeout_seconds=180, api_keys="", protect_predict=False,
        )
        with serve_app(create_app(settings)) as base, browser() as chromium:
            page = chromium.new_page(viewport={"width": 1360, "height": 900})
            yield SimpleNamespace(base=base, page=page, errors=PageErrors(page), site=site, res=res,
                                  shared=shared_data, shots=tmp_path_factory.mktemp("board-screens"),
                                  board=None)
            page.close()


def _shot(ctx: SimpleNamespace, name: str) -> Path:
    path = ctx.shots / name
    ctx.page.screenshot(path=str(path), full_page=name != "board.png")
    assert path.stat().st_size > 10_000
    if name == "board.png" and os.environ.get("SOCCER_UPDATE_SCREENSHOTS"):
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, REPO / "docs" / "img" / name)
    return path


def _rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all("tr.fixture", "rs => rs.map(r => Object.assign({}, r.dataset))")


def _no_errors(ctx: SimpleNamespace) -> None:
    assert ctx.errors.messages == []


def test_the_board_shows_every_fixture_with_the_apis_probabilities(ctx: SimpleNamespace) -> None:
    ctx.page.goto(f"{ctx.base}/board")
    rows = _rows(ctx.page)
    csv_rows = _fixture_rows(ctx.shared)
    assert len(csv_rows) == 19 and len(rows) == 19  # E0 10 + D1 9 fixtures of that week
    by_teams = {(r["league"], r["home"], r["away"]): r for r in rows}
    with httpx.Client(base_url=ctx.base, timeout=60) as api:
        for row in csv_rows:
            body = client_request(row)
            answer = api.post("/v1/predict", json=body)
            assert answer.status_code == 200, answer.text
            got = answer.json()
            shown = by_teams[(row["Div"], got["home_team"], got["away_team"])]
            probs = [float(shown[k]) for k in ("pHome", "pDraw", "pAway")]
            assert math.isclose(sum(probs), 1.0, abs_tol=1e-9)
            assert probs == [got["probabilities"][k] for k in ("home", "draw", "away")], body
            assert shown["date"] == body["kickoff"]
    # What a person reads: percentages, fair odds, best prices and the other markets per match.
    first = ctx.page.locator("tr.fixture").first
    assert first.locator("td.prob").count() == 3 and "%" in first.locator("td.prob").first.inner_text()
    assert ctx.page.locator("table.heat").count() == 19
    ctx.page.locator("tr.markets details summary").first.click()
    assert ctx.page.locator("table.heat").first.is_visible()
    assert ctx.page.locator("section.league h2").all_inner_texts() == ["D1", "E0"]
    _shot(ctx, "board.png")
    _no_errors(ctx)


def test_a_filter_changes_the_rows(ctx: SimpleNamespace) -> None:
    page = ctx.page
    page.goto(f"{ctx.base}/board")
    assert len(_rows(page)) == 19
    page.select_option("#league", "D1")
    with page.expect_navigation():
        page.click("#apply")
    rows = _rows(page)
    assert len(rows) == 9 and {r["league"] for r in rows} == {"D1"}
    page.select_option("#date", "2022-04-23")
    with page.expect_navigation():
        page.click("#apply")
    rows = _rows(page)
    assert len(rows) == 6 and {(r["league"], r["date"]) for r in rows} == {("D1", "2022-04-23")}
    assert page.locator("#row-count").inner_text() == "6 matches"
    _shot(ctx, "board-filtered.png")
    _no_errors(ctx)


def test_the_team_page_plots_the_rating_history(ctx: SimpleNamespace) -> None:
    page = ctx.page
    page.goto(f"{ctx.base}/board?league=E0")
    link = page.locator("td.match a").first
    team = link.inner_text()
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").inner_text().startswith(team)
    assert page.eval_on_selector("#rating-plot", "i => i.complete && i.naturalWidth") > 0
    assert page.locator("table.recent tr").count() > 10  # 12 recent matches + header
    assert page.locator("#current").is_visible()
    _shot(ctx, "team.png")
    _no_errors(ctx)


def test_the_track_record_scores_what_the_board_showed(ctx: SimpleNamespace) -> None:
    page = ctx.page
    page.goto(f"{ctx.base}/board/track-record")
    assert page.eval_on_selector("#rps-plot", "i => i.complete && i.naturalWidth") > 0
    assert "0 scored predictions" in page.locator("#counts").inner_text()  # no result yet
    # Later: the site publishes the results (and closing prices) of that week.
    full_season_files(ctx.shared, ctx.site, FILES)
    _ingest(ctx.res)
    page.reload()
    counts = page.locator("#counts").inner_text()
    assert not counts.startswith("0 "), counts
    for img in ("#rps-plot", "#equity-plot"):
        assert page.eval_on_selector(img, "i => i.complete && i.naturalWidth") > 0
    weeks = page.locator("#by-week tr").all_inner_texts()
    assert any("\tE0\t2022-W16" in w for w in weeks) and any("\tD1\t2022-W16" in w for w in weeks), weeks
    assert page.locator("#clv tr").count() > 1
    _shot(ctx, "track-record.png")
    _no_errors(ctx)
