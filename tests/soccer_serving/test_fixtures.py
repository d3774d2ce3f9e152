"""Upcoming fixtures for the API and the worker come from the warehouse (the ``fixtures`` asset
stores them), never from the site. Fetching ``fixtures.csv`` over HTTP or ``file://``, with retries,
is the pipeline's (``tests/soccer_assets/defs/test_fixtures_asset.py``)."""

from __future__ import annotations

import pytest

from soccer_assets.sources.fixtures import parse_fixtures_csv
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.fixtures import FixturesNotLoaded, fixture_requests, read_upcoming, upcoming_items


@pytest.fixture
def warehouse(tmp_path):
    wh = Warehouse(f"sqlite:///{tmp_path / 'wh.db'}")
    yield wh
    wh.dispose()


def test_upcoming_items_are_the_leagues_stored_fixtures(shared_data, warehouse):
    data = (shared_data / "fixtures.csv").read_bytes()
    with pytest.raises(FixturesNotLoaded, match="materialize the `fixtures` asset"):
        upcoming_items(warehouse, "D1")
    warehouse.replace_fixtures(parse_fixtures_csv(data).fixtures, source_sha256="x")
    items = upcoming_items(warehouse, "D1")
    assert len(items) == 9
    assert {i["league"] for i in items} == {"D1"}
    first = items[0]
    # Wolfsburg v Mainz, 22/04/2022: Pinnacle's opening prices (all three valid) and Avg over/under.
    assert first == {"league": "D1", "home_team": "Wolfsburg", "away_team": "Mainz", "kickoff": "2022-04-22",
                     "odds": {"home": 2.37, "draw": 3.46, "away": 3.22},
                     "totals_odds": {"over": 1.91, "under": 1.93}}
    assert len(read_upcoming(warehouse)) == 176
    assert upcoming_items(warehouse, "XX9") == []  # a league without fixtures this round


def test_a_fixture_without_pinnacle_prices_falls_back_to_the_average(shared_data, warehouse):
    df = parse_fixtures_csv((shared_data / "fixtures.csv").read_bytes()).fixtures.head(2).copy()
    df.loc[0, "odds_ps_open_d"] = float("nan")
    df.loc[1, [c for c in df.columns if c.startswith("odds_") and "_open_" in c]] = float("nan")
    warehouse.replace_fixtures(df, source_sha256="y")
    items = fixture_requests(read_upcoming(warehouse))
    assert items[0]["odds"] == {"home": df.loc[0, "odds_avg_open_h"], "draw": df.loc[0, "odds_avg_open_d"],
                                "away": df.loc[0, "odds_avg_open_a"]}
    assert "odds" not in items[1]
