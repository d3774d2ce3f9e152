"""Joining the prediction log with results, scoring and aggregating (constructed rows, known answers)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from soccer_assets.core.schema import odds_triplet
from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.baselines import demargin
from soccer_assets.monitoring import alerts, live, report

PS_CLOSE = odds_triplet("ps", "close")


def _match(home: str, away: str, day: str, ftr: str | None, odds=(2.0, 3.4, 4.0)) -> dict:
    return {"match_id": f"E0|2023-24|{home}|{away}|{day}", "league": "E0", "season": "2023-24",
            "date": pd.Timestamp(day), "home_team": home, "away_team": away, "ftr": ftr,
            **dict(zip(PS_CLOSE, odds, strict=True))}


def _pred(i: int, home: str, away: str, day: str, p, version: str = "1") -> dict:
    return {"id": i, "league": "E0", "season": "2023-24", "home_team": home, "away_team": away,
            "kickoff": dt.date.fromisoformat(day), "p_home": p[0], "p_draw": p[1], "p_away": p[2],
            "model_name": "m", "model_version": version}


@pytest.fixture
def matches() -> pd.DataFrame:
    return pd.DataFrame([
        _match("A", "B", "2023-08-12", "H"),
        _match("C", "D", "2023-08-12", "D", odds=(np.nan, 3.0, 3.0)),
        _match("E", "F", "2023-08-19", "A", odds=(1.5, 4.5, 7.0)),
        _match("G", "H", "2023-08-26", None),  # not played yet
    ])


def test_join_scores_each_prediction_with_its_result(matches: pd.DataFrame) -> None:
    log = pd.DataFrame([
        _pred(1, "A", "B", "2023-08-12", (0.5, 0.3, 0.2)),
        _pred(2, "C", "D", "2023-08-12", (0.4, 0.3, 0.3)),
        _pred(3, "E", "F", "2023-08-05", (0.6, 0.25, 0.15)),  # asked for the original date: postponed
        _pred(4, "G", "H", "2023-08-26", (0.3, 0.3, 0.4)),    # pending
        _pred(5, "A", "B", "2023-08-14", (0.1, 0.1, 0.8)),    # asked after the match: not scored
        _pred(6, "X", "Y", "2023-08-12", (0.3, 0.3, 0.4)),    # no such match
    ])
    res = live.join_outcomes(log, matches)
    assert res.counts == {"logged": 6, "pending": 2, "after_match": 1, "duplicates": 0, "scored": 3}
    s = res.scored
    assert list(s["id"]) == [1, 2, 3]
    assert list(s["y"]) == [0, 1, 2]
    assert list(s["week"]) == ["2023-W32", "2023-W32", "2023-W33"]
    assert s["week_start"].iloc[2] == pd.Timestamp("2023-08-14")  # Monday of the match's week
    # Market: Shin de-margined closing Pinnacle; C-D has an incomplete price -> NaN.
    np.testing.assert_allclose(s.loc[0, live.MARKET_COLUMNS].to_numpy(float),
                               demargin(np.array([[2.0, 3.4, 4.0]]))[0], rtol=0, atol=1e-15)
    assert s.loc[1, live.MARKET_COLUMNS].isna().all()


def test_scores_equal_the_metrics_module(matches: pd.DataFrame) -> None:
    log = pd.DataFrame([
        _pred(1, "A", "B", "2023-08-12", (0.5, 0.3, 0.2)),
        _pred(2, "C", "D", "2023-08-12", (0.4, 0.3, 0.3)),
        _pred(3, "E", "F", "2023-08-19", (0.6, 0.25, 0.15)),
    ])
    s = live.join_outcomes(log, matches).scored
    probs = np.array([[0.5, 0.3, 0.2], [0.4, 0.3, 0.3], [0.6, 0.25, 0.15]])
    y = np.array([0, 1, 2])
    out = live.score_frame(s)
    for k in ("rps", "log_loss", "brier", "accuracy", "ece"):
        assert out[k] == getattr(M, k)(probs, y)
    # Hand check of the RPS: ((.5-1)^2 + (.8-1)^2)/2, ((.4)^2 + (.7-1)^2)/2, ((.6)^2 + (.85)^2)/2
    assert out["rps"] == pytest.approx(np.mean([0.145, 0.125, 0.54125]), abs=1e-12)
    market = demargin(np.array([[2.0, 3.4, 4.0], [1.5, 4.5, 7.0]]))
    assert out["market_n"] == 2
    assert out["market_rps"] == pytest.approx(M.rps(market, np.array([0, 2])), abs=1e-15)
    assert out["model_rps_paired"] == pytest.approx(M.rps(probs[[0, 2]], np.array([0, 2])), abs=1e-15)
    assert out["rps_vs_market"] == pytest.approx(out["model_rps_paired"] - out["market_rps"], abs=1e-15)


def test_one_prediction_per_match_and_version_keeps_the_latest(matches: pd.DataFrame) -> None:
    log = pd.DataFrame([
        _pred(1, "A", "B", "2023-08-12", (0.2, 0.3, 0.5)),
        _pred(7, "A", "B", "2023-08-12", (0.5, 0.3, 0.2)),
        _pred(8, "A", "B", "2023-08-12", (0.4, 0.3, 0.3), version="2"),
    ])
    res = live.join_outcomes(log, matches)
    assert res.counts["duplicates"] == 1
    assert sorted(res.scored["id"]) == [7, 8]
    every = live.join_outcomes(log, matches, one_per_match=False)
    assert every.counts["scored"] == 3
    by_version = live.aggregate(res.scored, live.MODEL_KEYS).set_index("model_version")
    assert by_version.loc["1", "rps"] == M.rps(np.array([[0.5, 0.3, 0.2]]), np.array([0]))
    assert by_version.loc["2", "n"] == 1


def test_a_pairing_met_twice_a_season_scores_each_prediction_against_its_own_meeting() -> None:
    # The Scottish Premiership's split: Celtic host Rangers in the first 33 rounds and after it.
    matches = pd.DataFrame([_match("A", "B", "2023-09-02", "H"), _match("A", "B", "2024-04-07", "A")])
    log = pd.DataFrame([
        _pred(1, "A", "B", "2023-09-02", (0.5, 0.3, 0.2)),   # the first meeting
        _pred(2, "A", "B", "2024-01-10", (0.2, 0.3, 0.5)),   # between the two: the second meeting
        _pred(3, "A", "B", "2024-04-07", (0.3, 0.3, 0.4)),   # the second meeting
        _pred(4, "A", "B", "2024-05-01", (0.3, 0.3, 0.4)),   # after both
    ])
    res = live.join_outcomes(log, matches, one_per_match=False)
    assert res.counts == {"logged": 4, "pending": 0, "after_match": 1, "duplicates": 0, "scored": 3}
    assert res.scored.set_index("id")["match_id"].to_dict() == {
        1: "E0|2023-24|A|B|2023-09-02", 2: "E0|2023-24|A|B|2024-04-07", 3: "E0|2023-24|A|B|2024-04-07"}
    assert list(res.scored.sort_values("id")["y"]) == [0, 2, 2]


def test_bad_input_is_refused(matches: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        live.join_outcomes(pd.DataFrame({"id": [1]}), matches)
    twice = pd.concat([matches, matches.iloc[[0]]])
    with pytest.raises(ValueError, match=r"holds the match .* twice"):
        live.join_outcomes(pd.DataFrame([_pred(1, "A", "B", "2023-08-12", (0.5, 0.3, 0.2))]), twice)
    with pytest.raises(ValueError, match="unknown market baseline"):
        live.join_outcomes(pd.DataFrame([_pred(1, "A", "B", "2023-08-12", (0.5, 0.3, 0.2))]), matches,
                           market_baseline="nope")
    empty = live.join_outcomes(pd.DataFrame(columns=live.LOG_COLUMNS), matches)
    assert empty.scored.empty and empty.counts["logged"] == 0


def _scored(n: int, probs, version: str, y: int = 0, start: str = "2023-08-12") -> pd.DataFrame:
    days = pd.date_range(start, periods=n, freq="D")
    return pd.DataFrame({
        "id": range(n), "date": days, "model_name": "m", "model_version": version, "y": y,
        **{c: probs[k] for k, c in enumerate(live.PROB_COLUMNS)},
    })


def test_rps_verdict_uses_the_latest_n_per_version() -> None:
    good = _scored(50, (0.6, 0.25, 0.15), "1")           # RPS (.4^2 + .15^2)/2 = 0.09125
    early_bad = _scored(20, (0.15, 0.25, 0.6), "2", start="2023-01-01")  # (.85^2+.6^2)/2 = 0.54125
    late_good = _scored(30, (0.6, 0.25, 0.15), "2", start="2023-06-01")
    early_bad["id"] += 100
    late_good["id"] += 200
    scored = pd.concat([good, early_bad, late_good], ignore_index=True)
    refs = {("m", "1"): 0.09, ("m", "2"): 0.09}
    passed, table = alerts.rps_verdict(scored, refs, last_n_matches=30, margin=0.01, min_matches=10)
    t = table.set_index("model_version")
    assert passed and list(t["status"]) == ["ok", "ok"]
    assert t.loc["2", "live_rps"] == pytest.approx(0.09125)
    # A longer window reaches version 2's bad early predictions: 20 * 0.54125 + 30 * 0.09125 over 50.
    passed, table = alerts.rps_verdict(scored, refs, last_n_matches=50, margin=0.01, min_matches=10)
    t = table.set_index("model_version")
    assert not passed and t.loc["2", "status"] == "worse" and t.loc["1", "status"] == "ok"
    assert t.loc["2", "live_rps"] == pytest.approx((20 * 0.54125 + 30 * 0.09125) / 50)
    # Unknown reference or too few matches: reported, not judged.
    passed, table = alerts.rps_verdict(scored, {("m", "1"): 0.09}, last_n_matches=50, margin=0.01,
                                       min_matches=10)
    assert passed and table.set_index("model_version").loc["2", "status"] == "no_reference"
    passed, table = alerts.rps_verdict(scored, refs, last_n_matches=60, margin=0.01, min_matches=55)
    assert passed and set(table["status"]) == {"too_few"}


def test_drift_verdict_and_gauge_rows() -> None:
    features = pd.DataFrame([
        {"feature": "elo_diff", "psi": 0.05, "ks_statistic": 0.03, "judged": True},
        {"feature": "home_rest_days", "psi": 0.4, "ks_statistic": 0.2, "judged": True},
        {"feature": "market_p_home", "psi": 0.9, "ks_statistic": np.nan, "judged": False},
    ])
    preds = {("m", "1"): {"share_psi": 0.3, "share_reference": {"H": .5, "D": 0, "A": .5},
                          "share_recent": {"H": .3, "D": 0, "A": .7}}}
    passed, breaches = alerts.drift_verdict(features, preds, psi_threshold=0.25)
    assert not passed
    assert [(b["kind"], b["name"]) for b in breaches] == [("feature", "home_rest_days"),
                                                          ("prediction", "m v1")]
    assert alerts.drift_verdict(features, {}, psi_threshold=0.5)[0]
    rows = report.gauge_rows(pd.DataFrame(), pd.DataFrame(), features, preds, {"c": False}, {"scored": 3},
                             window_label="last_10")
    got = {(r["metric"], tuple(sorted(r["labels"].items()))): r["value"] for r in rows}
    assert got[("feature_psi", (("feature", "home_rest_days"),))] == 0.4
    assert ("feature_ks_statistic", (("feature", "market_p_home"),)) not in got  # NaN left out
    key = ("prediction_share", (("model", "m"), ("outcome", "A"), ("population", "recent"), ("version", "1")))
    assert got[key] == 0.7
    assert got[("check_passed", (("check", "c"),))] == 0.0
