"""Form, rest days, team states (promotion, season roll-over, serialisation) and the build API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from soccer_assets.core.schema import CORE_ODDS_COLUMNS
from soccer_assets.features.build import (
    ALL_FEATURES,
    FEATURE_COLUMNS,
    MARKET_FEATURES,
    RATING_FEATURES,
    TOTALS_FEATURES,
    FeatureParams,
    build_match_features,
    build_team_states,
    fixture_features,
    rating_param_scores,
    select_open_odds,
    tune_rating_params,
)
from soccer_assets.features.elo import EloParams, elo_update
from soccer_assets.features.form import (
    FormParams,
    ewm_step,
    initial_form,
    last_n_means,
    match_points,
    rest_days,
    update_form,
)
from soccer_assets.features.market import implied_probabilities
from soccer_assets.features.pi_ratings import PiParams
from soccer_assets.features.state import (
    TeamState,
    resolve_team_state,
    states_from_records,
    update_states,
)
from tests.soccer_assets.features.features_gen import match_tables

P = FeatureParams()


def table(rows: list[tuple], league: str = "E0") -> pd.DataFrame:
    """Canonical rows from (season, 'YYYY-MM-DD', home, away, hg, ag[, hs, as, hst, ast])."""
    out = []
    for r in rows:
        season, day, home, away, hg, ag, *stats = r
        hs, as_, hst, ast = stats or (np.nan, np.nan, np.nan, np.nan)
        rec = {
            "match_id": f"{league}|{season}|{home}|{away}|{day}",
            "league": league,
            "season": season,
            "date": pd.Timestamp(day),
            "kickoff": pd.Timestamp(day),
            "home_team": home,
            "away_team": away,
            "fthg": hg,
            "ftag": ag,
            "hs": hs,
            "as": as_,
            "hst": hst,
            "ast": ast,
        }
        rec.update(dict.fromkeys(CORE_ODDS_COLUMNS, np.nan))
        out.append(rec)
    df = pd.DataFrame(out)
    df["fthg"] = df["fthg"].astype("Int64")
    df["ftag"] = df["ftag"].astype("Int64")
    return df


# -- form ----------------------------------------------------------------------------------------


def test_points_ewm_and_missing_statistics() -> None:
    assert [match_points(2, 1), match_points(1, 1), match_points(0, 3)] == [3.0, 1.0, 0.0]
    assert ewm_step(1.0, 3.0, 0.25) == 1.5  # 1 + 0.25 (3 - 1)
    assert ewm_step(1.0, math.nan, 0.25) == 1.0  # a missing observation changes nothing


def test_update_form_worked_example() -> None:
    fp = FormParams(alpha=0.5, venue_alpha=0.5, last_n=2)
    f0 = initial_form(fp)
    assert f0.ewm == (1.40, 1.40, 12.5, 12.5, 4.4, 4.4, 1.37)
    f1 = update_form(f0, goals_for=3, goals_against=1, shots_for=15, shots_against=math.nan,
                     sot_for=7, sot_against=math.nan, at_home=True, params=fp)
    # gf: 1.4 + 0.5 (3 - 1.4) = 2.2; ga: 1.4 + 0.5 (1 - 1.4) = 1.2; shots 12.5 -> 13.75;
    # shots against missing -> unchanged; sot 4.4 -> 5.7; points 1.37 -> 1.37 + 0.5 (3 - 1.37).
    assert f1.ewm == pytest.approx((2.2, 1.2, 13.75, 12.5, 5.7, 4.4, 2.185))
    assert f1.home_ewm == pytest.approx((1.55 + 0.5 * (3 - 1.55), 1.20 + 0.5 * (1 - 1.20)))
    assert f1.away_ewm == f0.away_ewm  # a home match leaves away form alone
    f2 = update_form(f1, goals_for=0, goals_against=0, shots_for=5, shots_against=5, sot_for=1,
                     sot_against=1, at_home=False, params=fp)
    f3 = update_form(f2, goals_for=1, goals_against=2, shots_for=5, shots_against=5, sot_for=1,
                     sot_against=1, at_home=False, params=fp)
    assert f3.last == ((0.0, 0.0, 1.0), (1.0, 2.0, 0.0))  # only the last two
    assert last_n_means(f3, fp) == (0.5, 1.0, 0.5)
    assert last_n_means(f0, fp) == (1.40, 1.40, 1.37)  # priors when there is no match yet


def test_rest_days() -> None:
    fp = FormParams(rest_cap_days=28.0)
    assert rest_days(None, dt.date(2020, 1, 1), fp) == 28.0
    assert rest_days(dt.date(2020, 1, 1), dt.date(2020, 1, 4), fp) == 3.0
    assert rest_days(dt.date(2019, 5, 1), dt.date(2019, 8, 10), fp) == 28.0


def test_form_and_rest_through_the_build() -> None:
    df = table([
        ("2020-21", "2020-09-01", "A", "B", 2, 0, 10, 4, 5, 1),
        ("2020-21", "2020-09-01", "C", "D", 1, 1, 8, 8, 3, 3),
        ("2020-21", "2020-09-04", "B", "C", 0, 1, 6, 12, 2, 6),
        ("2020-21", "2020-09-08", "A", "C", 0, 0),
    ])
    f = build_match_features(df).set_index(["home_team", "away_team"])
    a = FormParams().alpha
    # Day 1: no history -> priors and the rest cap.
    assert f.loc[("A", "B"), "home_rest_days"] == 28.0
    assert f.loc[("A", "B"), "home_gf_ewm"] == 1.40
    # B (lost 0-2 on 1 Sep, 3 days' rest) at C (drew 1-1 on 1 Sep).
    row = f.loc[("B", "C")]
    assert row["home_rest_days"] == 3.0 and row["away_rest_days"] == 3.0
    assert row["home_gf_ewm"] == pytest.approx(1.40 + a * (0 - 1.40))
    assert row["home_ga_ewm"] == pytest.approx(1.40 + a * (2 - 1.40))
    assert row["home_sf_ewm"] == pytest.approx(12.5 + a * (4 - 12.5))
    assert row["home_pts_lastn"] == 0.0 and row["away_pts_lastn"] == 1.0
    assert row["home_season_matches"] == 1.0 and row["home_season_ppg"] == 0.0
    # B's venue form is its home form: B has not played at home yet -> prior.
    assert row["home_venue_gf_ewm"] == FormParams().priors.home_gf
    # A (7 days) v C (4 days; C won at B).
    row = f.loc[("A", "C")]
    assert row["home_rest_days"] == 7.0 and row["away_rest_days"] == 4.0
    assert row["away_pts_lastn"] == 2.0  # (1 + 3) / 2
    assert row["away_season_ppg"] == 2.0
    # A's Elo after beating B 2-0 from 1500 v 1500.
    assert row["elo_home"] == elo_update(1500.0, 1500.0, 2, 0, P.elo)[0]


# -- states: promotion, roll-over ----------------------------------------------------------------


def two_seasons() -> pd.DataFrame:
    # 2019-20 final table: A 6 pts, B 3 (gd 0), C 3 (gd -1), D 0 ... E, F join in 2020-21.
    return table([
        ("2019-20", "2019-08-10", "A", "B", 2, 0),
        ("2019-20", "2019-08-10", "C", "D", 1, 0),
        ("2019-20", "2019-08-17", "A", "C", 3, 0),
        ("2019-20", "2019-08-17", "B", "D", 2, 0),
        ("2020-21", "2020-09-12", "A", "E", 1, 1),
        ("2020-21", "2020-09-12", "B", "C", 0, 0),
        ("2020-21", "2020-09-19", "F", "A", 0, 1),
    ])


def test_promoted_team_starts_at_mean_of_bottom_three() -> None:
    df = two_seasons()
    end = build_team_states(df, as_of="2020-07-01")
    bottom3 = sorted(["B", "C", "D"])  # A is top; B, C, D are the bottom three
    mean_elo = sum(end[("E0", t)].elo for t in bottom3) / 3
    mean_pi_h = sum(end[("E0", t)].pi_home for t in bottom3) / 3
    st = resolve_team_state(end, "E0", "E", "2020-21", P)
    assert st.promoted and st.elo == pytest.approx(mean_elo, abs=1e-12)
    assert st.pi_home == pytest.approx(mean_pi_h, abs=1e-12)
    f = build_match_features(df).set_index(["season", "home_team", "away_team"])
    assert f.loc[("2020-21", "A", "E"), "elo_away"] == st.elo
    assert f.loc[("2020-21", "A", "E"), "away_promoted"] == 1.0
    assert f.loc[("2020-21", "A", "E"), "home_promoted"] == 0.0
    # F enters a week later: same seed (2019-20 table), unaffected by 2020-21 results.
    assert f.loc[("2020-21", "F", "A"), "elo_home"] == st.elo
    # In the league's first season everyone starts at the base rating.
    assert f.loc[("2019-20", "A", "B"), "elo_home"] == 1500.0
    assert f.loc[("2019-20", "A", "B"), "home_promoted"] == 0.0


def test_promotion_slots_average_in_the_top_of_a_second_tier() -> None:
    df = two_seasons().assign(league="E1")
    end = build_team_states(df, as_of="2020-07-01")
    st = resolve_team_state(end, "E1", "E", "2020-21", P)
    # E1 also loses its top three (promoted): here the whole 4-team table is averaged.
    assert st.elo == pytest.approx(sum(s.elo for s in end.values()) / 4, abs=1e-12)


def test_returning_team_is_reseeded_and_season_regression() -> None:
    df = pd.concat([
        two_seasons(),
        table([("2021-22", "2021-08-14", "D", "A", 0, 0)]),  # D skipped 2020-21
    ], ignore_index=True)
    states = build_team_states(df, as_of="2021-08-01")
    d = resolve_team_state(states, "E0", "D", "2021-22", P)
    assert d.promoted  # stale 2019-20 ratings are not reused
    fp = dataclasses.replace(P, elo=dataclasses.replace(P.elo, season_regression=0.25),
                             pi=dataclasses.replace(P.pi, season_regression=0.5))
    states = build_team_states(df, as_of="2021-08-01", params=fp)
    a_old = states[("E0", "A")]
    a_new = resolve_team_state(states, "E0", "A", "2021-22", fp)
    assert a_new.elo == pytest.approx(a_old.elo + 0.25 * (1500 - a_old.elo))
    assert a_new.pi_home == pytest.approx(0.5 * a_old.pi_home)
    assert a_new.season_matches == 0 and a_new.prev is not None
    assert a_new.prev.points == a_old.season_points


def test_update_states_is_pure_and_one_day_only() -> None:
    df = two_seasons()
    before = build_team_states(df, as_of="2019-08-17")
    snapshot = dict(before)
    day = df[df["date"] == "2019-08-17"]
    after = update_states(before, day)
    assert before == snapshot and after is not before
    assert after[("E0", "A")].matches_played == 2
    with pytest.raises(ValueError, match="one date"):
        update_states(before, df.head(3))


def test_team_state_json_round_trip() -> None:
    states = build_team_states(two_seasons())
    for st in states.values():
        back = TeamState.from_record(json.loads(json.dumps(st.to_record())))
        assert back == st
    records = json.loads(json.dumps([st.to_record() for st in states.values()]))
    assert states_from_records(records) == states


def test_fixture_features_refuses_states_that_saw_the_date() -> None:
    df = two_seasons()
    states = build_team_states(df)  # includes 2020-09-19
    with pytest.raises(ValueError, match="already includes"):
        fixture_features(states, league="E0", season="2020-21", home_team="F", away_team="A",
                         kickoff="2020-09-19")
    out = fixture_features(states, league="E0", season="2020-21", home_team="B",
                           away_team="F", kickoff=pd.Timestamp("2020-09-26 15:00"),
                           open_odds=(2.1, 3.4, 3.6), open_totals=(1.8, 2.05))
    assert list(out) == FEATURE_COLUMNS
    assert out["market_p_over25"] == pytest.approx((1 / 1.8) / (1 / 1.8 + 1 / 2.05))
    assert 2.5 < out["market_total_mu"] < 3.5
    assert out["home_rest_days"] == 14.0
    assert [out[k] for k in MARKET_FEATURES[:3]] == list(
        implied_probabilities(np.array([2.1, 3.4, 3.6]))
    )


# -- build API -----------------------------------------------------------------------------------


def test_select_open_odds_prefers_pinnacle_and_never_uses_closing() -> None:
    df = table([("2020-21", "2020-09-01", "A", "B", 1, 0)] * 3)
    df.loc[0, ["odds_ps_open_h", "odds_ps_open_d", "odds_ps_open_a"]] = [2.0, 3.5, 4.0]
    df.loc[0, ["odds_avg_open_h", "odds_avg_open_d", "odds_avg_open_a"]] = [1.9, 3.4, 3.9]
    df.loc[1, ["odds_ps_open_h", "odds_ps_open_d"]] = [2.0, 3.5]  # incomplete -> average
    df.loc[1, ["odds_avg_open_h", "odds_avg_open_d", "odds_avg_open_a"]] = [1.9, 3.4, 3.9]
    df.loc[2, ["odds_ps_close_h", "odds_ps_close_d", "odds_ps_close_a"]] = [2.0, 3.5, 4.0]
    got = select_open_odds(df)
    np.testing.assert_array_equal(got[0], [2.0, 3.5, 4.0])
    np.testing.assert_array_equal(got[1], [1.9, 3.4, 3.9])
    assert np.isnan(got[2]).all()  # closing odds are never a feature
    f = build_match_features(df)
    assert f.loc[2, MARKET_FEATURES].isna().all()
    assert f.loc[0, "market_overround"] == pytest.approx(1 / 2 + 1 / 3.5 + 1 / 4 - 1)


def test_fixtures_without_result_get_features_but_do_not_update() -> None:
    df = two_seasons()
    fixture = table([("2020-21", "2020-09-26", "B", "F", 0, 0)])
    fixture["fthg"] = pd.array([pd.NA], dtype="Int64")
    fixture["ftag"] = pd.array([pd.NA], dtype="Int64")
    both = pd.concat([df, fixture], ignore_index=True)
    f = build_match_features(both)
    assert not f[RATING_FEATURES].isna().any().any()
    assert build_team_states(both) == build_team_states(df)


def test_feature_lists() -> None:
    assert ALL_FEATURES == RATING_FEATURES + MARKET_FEATURES
    assert len(set(ALL_FEATURES)) == len(ALL_FEATURES)
    assert not any("close" in c for c in ALL_FEATURES)
    assert FEATURE_COLUMNS == ALL_FEATURES + TOTALS_FEATURES
    assert not any("close" in c for c in TOTALS_FEATURES)
    assert MARKET_FEATURES == ["market_p_home", "market_p_draw", "market_p_away",
                               "market_overround"]


def test_feature_params_as_dict() -> None:
    d = FeatureParams().as_dict()
    assert d["elo.k"] == EloParams().k and d["pi.lam"] == PiParams().lam
    assert d["form.priors.gf"] == 1.40
    # No carry between divisions is the behaviour before the parameter existed: not listed, so the
    # params hash (team_state, registered models) of the defaults is what it was.
    assert "country_carry" not in d
    assert d["market_method"] == "shin" and len(d) == len(FeatureParams(country_carry=0.5).as_dict()) - 1
    assert FeatureParams(country_carry=0.5).as_dict()["country_carry"] == 0.5
    with pytest.raises(ValueError, match="between 0 and 1"):
        FeatureParams(country_carry=1.5)


def test_tune_rating_params_picks_from_grid_on_training_data() -> None:
    from hypothesis import HealthCheck, given, settings

    tables: list[pd.DataFrame] = []

    @settings(max_examples=30, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(match_tables(max_teams=7, max_seasons=3))
    def collect(df: pd.DataFrame) -> None:
        tables.append(df)

    collect()
    # Many small random league-seasons -> one training table with unique league codes.
    parts = [
        part.assign(league=f"L{i}{league}")
        for i, t in enumerate(tables)
        for league, part in t.groupby("league")
    ]
    train = pd.concat(parts, ignore_index=True)
    grid = {"elo_k": (10.0, 40.0), "elo_home_advantage": (60.0,),
            "pi_lam": (0.02, 0.06), "pi_gamma": (0.7,)}
    scores = rating_param_scores(train, grid)
    assert set(scores["rating"]) == {"elo", "pi"} and len(scores) == 4
    assert scores["rps"].between(0.0, 1.0).all()
    best = tune_rating_params(train, grid)
    assert best.elo.k in (10.0, 40.0) and best.elo.home_advantage == 60.0
    assert best.pi.lam in (0.02, 0.06) and best.pi.gamma == 0.7
    elo_best = scores[scores.rating == "elo"].sort_values("rps").iloc[0]
    assert best.elo.k == elo_best["a"]
    assert tune_rating_params(train, grid) == best  # deterministic
