"""The expected-total goal model: it learns the mean, refuses closing prices, round-trips bit-exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from soccer_assets.features.feature_vector import ALL_FEATURES, RATING_FEATURES
from soccer_assets.features.totals import TOTALS_FEATURES
from soccer_assets.modeling import artifact
from soccer_assets.modeling.goals.model import (
    GoalParams,
    goal_features,
    poisson_deviance,
    predict_total,
    train_goal_model,
)

FAST = GoalParams(learning_rate=0.1, num_boost_round=300, min_child_weight=10.0)


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    mu = np.exp(0.95 + 0.35 * x)
    hg = rng.poisson(mu * 0.55)
    ag = rng.poisson(mu * 0.45)
    return pd.DataFrame({"x": x, "noise": rng.normal(size=n), "true_mu": mu, "fthg": hg, "ftag": ag,
                         "market_total_mu": mu * np.exp(rng.normal(0, 0.05, n))})


def test_learns_the_mean_better_than_a_constant():
    train, valid, test = frame(6000, 1), frame(1500, 2), frame(2000, 3)
    model = train_goal_model(train, valid, features=["x", "noise"], params=FAST)
    mu = predict_total(model, test)
    y = test["fthg"] + test["ftag"]
    assert poisson_deviance(mu, y) < poisson_deviance(np.full(len(y), y.mean()), y) - 0.05
    assert np.corrcoef(mu, test["true_mu"])[0, 1] > 0.95
    assert model.validation_metrics["n"] == 1500
    assert model.prior_total == pytest.approx((train["fthg"] + train["ftag"]).mean())


def test_market_start_means_the_trees_only_correct_the_price():
    train, valid, test = frame(4000, 4), frame(1000, 5), frame(1000, 6)
    model = train_goal_model(train, valid, features=["noise"], base_margin_column="market_total_mu",
                             params=FAST)
    mu = predict_total(model, test)
    # With nothing to learn from the noise, the prediction stays at the price it started from.
    assert np.median(np.abs(np.log(mu / test["market_total_mu"]))) < 0.05
    # A row without a price starts from the training mean instead.
    blank = test.head(3).assign(market_total_mu=np.nan)
    assert np.allclose(predict_total(model, blank), model.prior_total, rtol=0.1)


def test_closing_prices_and_empty_frames_are_refused():
    train, valid = frame(200, 7), frame(100, 8)
    with pytest.raises(ValueError, match="closing"):
        train_goal_model(train.assign(p_over25_avg_close=0.5), valid, features=["x", "p_over25_avg_close"])
    with pytest.raises(ValueError, match="played matches"):
        train_goal_model(train, valid.assign(fthg=np.nan), features=["x"])
    with pytest.raises(KeyError, match="lacks"):
        train_goal_model(train, valid, features=["x", "missing"])
    with pytest.raises(ValueError, match="variant"):
        goal_features("poisson")


def test_variants_read_the_documented_columns():
    assert goal_features("ratings") == (RATING_FEATURES, None)
    feats, margin = goal_features("market")
    assert feats == ALL_FEATURES + TOTALS_FEATURES and margin == "market_total_mu"
    assert not any("close" in c for c in feats)


def test_artifact_round_trip_is_bit_exact_and_checks_its_parts(tmp_path):
    from soccer_assets.modeling.train import TrainParams, train_model
    from soccer_assets.storage.model_store import load_trained, save_trained

    rng = np.random.default_rng(9)
    data = frame(1200, 9)
    data["y"] = np.where(data["fthg"] > data["ftag"], 0, np.where(data["fthg"] == data["ftag"], 1, 2))
    data["z"] = rng.normal(size=len(data))
    tr, va = data.iloc[:900], data.iloc[900:]
    model = train_model(tr, tr["y"].to_numpy(), va, va["y"].to_numpy(), features=["x", "z"],
                        params=TrainParams(num_boost_round=30, calibration="none"))
    assert model.goals is None  # custom features: no goal model unless asked
    model.goals = train_goal_model(tr, va, features=["x", "z"], params=FAST)
    paths = save_trained(model, tmp_path)
    assert set(paths) == {"booster", "meta", "goals_booster"}
    back = load_trained(paths["booster"], paths["meta"], paths["goals_booster"])
    assert predict_total(back.goals, data).tobytes() == predict_total(model.goals, data).tobytes()
    meta = json.loads((tmp_path / artifact.META_FILE).read_text())
    with pytest.raises(ValueError, match="both be present"):
        artifact.trained_from_parts((tmp_path / artifact.BOOSTER_FILE).read_bytes(), meta, None)
    meta.pop("goals")
    with pytest.raises(ValueError, match="both be present"):
        artifact.trained_from_parts((tmp_path / artifact.BOOSTER_FILE).read_bytes(), meta,
                                    (tmp_path / artifact.GOALS_BOOSTER_FILE).read_bytes())
