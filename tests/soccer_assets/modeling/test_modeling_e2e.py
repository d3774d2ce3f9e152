"""Training, baselines and evaluation end to end on a few real league-seasons."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from soccer_assets.core.schema import odds_triplet
from soccer_assets.features.build import ALL_FEATURES, MARKET_FEATURES, RATING_FEATURES
from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.baselines import Climatology, RatingLogit, demargin
from soccer_assets.modeling.evaluate import (
    BASELINES,
    attach_labels,
    evaluate,
    reliability_plot_png,
    run_backtest,
)
from soccer_assets.modeling.split import temporal_split
from soccer_assets.modeling.train import (
    DEFAULT_PARAMS,
    market_prob_columns,
    predict_proba,
    train_model,
    variant_features,
)
from tests.soccer_assets.modeling.conftest import E2E_LEAGUES, E2E_TEST_SEASON

FORECASTERS = ("model", *BASELINES)
# Quality does not matter where a test only checks bookkeeping: train fast.
FAST = replace(DEFAULT_PARAMS["ratings"], learning_rate=0.2, early_stopping_rounds=10)


@pytest.fixture(scope="module")
def split(small_features, small_matches):
    return temporal_split(attach_labels(small_features, small_matches), E2E_TEST_SEASON)


@pytest.fixture(scope="module")
def ratings_backtest(small_features, small_matches):
    return run_backtest(small_features, small_matches, E2E_TEST_SEASON, "ratings", seed=7)


def test_report_covers_every_forecaster_overall_and_per_league(ratings_backtest, small_matches):
    r = ratings_backtest.report
    n_test = int((small_matches["season"] == E2E_TEST_SEASON).sum())
    assert r["split"]["n_test"] == n_test
    assert r["leagues"] == sorted(E2E_LEAGUES)
    assert set(r["overall"]) == set(FORECASTERS)
    for name in FORECASTERS:
        s = r["overall"][name]
        assert set(s) == {"n", "rps", "log_loss", "brier", "accuracy", "ece"}
        assert 0 < s["n"] <= n_test
        assert 0.15 < s["rps"] < 0.26 and 0.85 < s["log_loss"] < 1.15
    assert r["overall"]["model"]["n"] == n_test
    for lg in E2E_LEAGUES:
        assert set(r["by_league"][lg]) == set(FORECASTERS)
        per = r["by_league"][lg]["model"]
        assert per["n"] == int(
            ((small_matches["season"] == E2E_TEST_SEASON) & (small_matches["league"] == lg)).sum()
        )
    # the model beats climatology on real data; closing odds beat it by a margin
    assert r["overall"]["model"]["rps"] < r["overall"]["climatology"]["rps"]
    assert r["overall"]["pinnacle_close"]["rps"] < r["overall"]["model"]["rps"]
    assert set(r["reliability"]["model"]) == {"H", "D", "A"}
    json.dumps(r, allow_nan=False)  # strictly JSON: no NaN sneaks through


def test_predictions_are_probabilities(ratings_backtest):
    pred = ratings_backtest.predictions
    for name in ("model", "climatology", "elo"):
        p = pred[[f"{name}_p_h", f"{name}_p_d", f"{name}_p_a"]].to_numpy()
        assert np.all(p > 0) and np.allclose(p.sum(axis=1), 1.0)


def test_same_seed_and_data_give_identical_metrics(small_features, small_matches):
    kw = {"variant": "ratings", "seed": 3, "params": FAST}
    a = evaluate(small_features, small_matches, E2E_TEST_SEASON, **kw)
    b = evaluate(small_features.copy(), small_matches.copy(), E2E_TEST_SEASON, **kw)
    assert a == b
    # row order of the inputs does not matter either
    shuffled = small_features.sample(frac=1.0, random_state=0)
    c = evaluate(shuffled, small_matches, E2E_TEST_SEASON, **kw)
    assert c["overall"] == a["overall"]


def test_training_is_bitwise_deterministic(split):
    y_tr, y_va = split.train["y"].to_numpy(), split.validation["y"].to_numpy()
    m1 = train_model(split.train, y_tr, split.validation, y_va, "market", seed=11)
    m2 = train_model(split.train, y_tr, split.validation, y_va, "market", seed=11)
    np.testing.assert_array_equal(predict_proba(m1, split.test), predict_proba(m2, split.test))
    assert m1.best_iteration == m2.best_iteration
    assert m1.validation_metrics == m2.validation_metrics


def test_market_baselines_scored_on_their_own_rows(small_features, small_matches):
    matches = small_matches.copy()
    in_test = (matches["season"] == E2E_TEST_SEASON).to_numpy()
    blank = np.flatnonzero(in_test)[:40]
    matches.loc[blank, odds_triplet("ps", "open")[1]] = np.nan  # one missing price voids the row
    bt = run_backtest(small_features, matches, E2E_TEST_SEASON, "ratings", seed=0, params=FAST)
    r, pred = bt.report, bt.predictions
    n_test = int(in_test.sum())
    assert r["overall"]["model"]["n"] == n_test
    assert r["overall"]["pinnacle_open"]["n"] == n_test - 40
    assert r["overall"]["pinnacle_close"]["n"] == n_test
    assert r["paired"]["pinnacle_open"]["n"] == n_test - 40
    p_open = pred[["pinnacle_open_p_h", "pinnacle_open_p_d", "pinnacle_open_p_a"]].to_numpy()
    ok = np.isfinite(p_open).all(axis=1)
    y = pred["y"].to_numpy()
    model = pred[["model_p_h", "model_p_d", "model_p_a"]].to_numpy()
    assert r["overall"]["pinnacle_open"]["rps"] == pytest.approx(M.rps(p_open[ok], y[ok]))
    assert r["paired"]["pinnacle_open"]["model_rps"] == pytest.approx(M.rps(model[ok], y[ok]))
    assert r["paired"]["pinnacle_open"]["rps_diff"] == pytest.approx(
        M.rps(model[ok], y[ok]) - M.rps(p_open[ok], y[ok])
    )
    # Per league: the same pairs, each on that league's rows with the baseline's forecast.
    for lg, pairs in r["paired_by_league"].items():
        in_lg = (pred["league"] == lg).to_numpy()
        assert pairs["pinnacle_open"]["n"] == int((in_lg & ok).sum())
        assert pairs["pinnacle_open"]["rps_diff"] == pytest.approx(
            M.rps(model[in_lg & ok], y[in_lg & ok]) - M.rps(p_open[in_lg & ok], y[in_lg & ok]))
        by_lg = r["by_league"][lg]
        assert pairs["elo"]["rps_diff"] == pytest.approx(by_lg["model"]["rps"] - by_lg["elo"]["rps"])
        lo, hi = pairs["elo"]["ci95"]
        assert lo <= pairs["elo"]["rps_diff"] <= hi


def test_market_variant_starts_from_the_opening_market(split):
    cols = market_prob_columns()
    assert set(cols) <= set(MARKET_FEATURES)
    frozen = replace(DEFAULT_PARAMS["market"], learning_rate=1e-9, num_boost_round=3, early_stopping_rounds=3)
    y_tr, y_va = split.train["y"].to_numpy(), split.validation["y"].to_numpy()
    model = train_model(split.train, y_tr, split.validation, y_va, "market", 0, frozen)
    market = split.test[cols].to_numpy()
    ok = np.isfinite(market).all(axis=1)
    np.testing.assert_allclose(predict_proba(model, split.test)[ok], market[ok], atol=1e-5)
    # a row without opening odds starts from the training frequencies instead
    no_odds = split.test.head(3).copy()
    no_odds[cols] = np.nan
    np.testing.assert_allclose(predict_proba(model, no_odds), [model.prior] * 3, atol=1e-5)


def test_variants_and_the_closing_odds_guard(split):
    feats, margin = variant_features("ratings")
    assert feats == list(RATING_FEATURES) and margin is None
    feats, margin = variant_features("market")
    assert feats == list(ALL_FEATURES) and margin == market_prob_columns()
    assert not any("close" in c for c in ALL_FEATURES)
    leaky = split.train.assign(odds_ps_close_h=1.5)
    with pytest.raises(ValueError, match="closing odds"):
        train_model(
            leaky,
            leaky["y"],
            split.validation.assign(odds_ps_close_h=1.5),
            split.validation["y"],
            "ratings",
            features=["elo_diff", "odds_ps_close_h"],
        )
    with pytest.raises(ValueError):
        variant_features("closing")


def test_climatology_by_hand():
    clim = Climatology(alpha=0.0).fit(["E0"] * 4 + ["D1"] * 2, np.array([0, 0, 1, 2, 2, 2]))
    np.testing.assert_allclose(clim.predict_proba(["E0"]), [[0.5, 0.25, 0.25]])
    np.testing.assert_allclose(clim.predict_proba(["D1"]), [[0.0, 0.0, 1.0]])
    # a league never seen in training gets the overall frequencies
    np.testing.assert_allclose(clim.predict_proba(["SP1"]), [[2 / 6, 1 / 6, 3 / 6]])
    smoothed = Climatology(alpha=1.0).fit(["D1"] * 2, np.array([2, 2]))
    np.testing.assert_allclose(smoothed.predict_proba(["D1"]), [[0.2, 0.2, 0.6]])


def test_rating_logit_is_monotone_in_the_rating_difference(split):
    fit = split.fit
    model = RatingLogit("elo_diff").fit(fit, fit["y"].to_numpy())
    grid = pd.DataFrame({"elo_diff": [-300.0, 0.0, 300.0, np.nan]})
    p = model.predict_proba(grid)
    assert p[0, 0] < p[1, 0] < p[2, 0] and p[0, 2] > p[1, 2] > p[2, 2]
    np.testing.assert_allclose(p[3], model.predict_proba(grid.iloc[[1]])[0], atol=0.05)


def test_demargin_returns_nan_rows_for_missing_or_invalid_odds():
    odds = np.array([[2.0, 3.4, 4.0], [np.nan, 3.0, 3.0], [1.0, 5.0, 9.0], [1.5, 4.2, 7.5]])
    p = demargin(odds)
    assert np.isnan(p[1]).all() and np.isnan(p[2]).all()
    np.testing.assert_allclose(p[[0, 3]].sum(axis=1), 1.0)
    # Shin shifts mass towards the favourite compared with proportional normalisation
    inv = 1 / odds[3]
    assert p[3, 0] > inv[0] / inv.sum()


def test_reliability_plot_is_png(ratings_backtest):
    png = reliability_plot_png(ratings_backtest.report["reliability"], "E0+D1 2022-23")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000


def test_validation_metrics_and_summary(ratings_backtest):
    s = ratings_backtest.model.summary()
    assert s["features"] == list(RATING_FEATURES)
    assert s["n_trees_per_class"] == s["best_iteration"] + 1
    assert math.isfinite(s["validation_metrics"]["rps"]) and s["temperature"] > 0
    json.dumps(s, allow_nan=False)
