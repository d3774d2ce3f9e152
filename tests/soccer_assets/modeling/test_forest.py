"""``modeling.forest``: the booster's trees in numpy give XGBoost's margins bit for bit, or refuse."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from soccer_assets.modeling.evaluate import attach_labels
from soccer_assets.modeling.forest import MAX_ROWS, Forest, UnsupportedForest
from soccer_assets.modeling.split import temporal_split
from soccer_assets.modeling.train import (
    DEFAULT_PARAMS,
    market_prob_columns,
    predict_proba_matrix,
    raw_margin_matrix,
    train_model,
)
from tests.soccer_assets.modeling.conftest import E2E_TEST_SEASON


def xgb_margin(booster: xgb.Booster, n_iter: int, X: np.ndarray,
               base: np.ndarray | None = None) -> np.ndarray:
    kwargs = {} if base is None else {"base_margin": base}
    out = booster.inplace_predict(np.asarray(X, dtype=np.float32), iteration_range=(0, n_iter),
                                  predict_type="margin", missing=np.nan, **kwargs)
    return np.asarray(out, dtype=np.float32).reshape(len(X), -1)


@pytest.fixture(scope="module")
def split(small_features, small_matches):
    return temporal_split(attach_labels(small_features, small_matches), E2E_TEST_SEASON)


@pytest.fixture(scope="module", params=["ratings", "market"])
def trained(request, split):
    """The pipeline's trainer on real matches; ``market`` starts from a base margin."""
    params = replace(DEFAULT_PARAMS[request.param], learning_rate=0.1, early_stopping_rounds=10)
    y_tr, y_va = split.train["y"].to_numpy(), split.validation["y"].to_numpy()
    return train_model(split.train, y_tr, split.validation, y_va, request.param, seed=3, params=params)


def test_real_models_every_test_row_alone_and_together(trained, split):
    n_iter = trained.best_iteration + 1
    forest = Forest.from_booster(trained.booster, n_iter)
    X = split.test[trained.features].to_numpy(np.float64)
    base = None
    if trained.base_margin_columns is not None:
        base = split.test[market_prob_columns()].to_numpy(np.float64)
    want_margin = raw_margin_matrix(trained, X, base)  # XGBoost: no forest given
    for i in range(len(X)):  # one row at a time, the serving case
        got = raw_margin_matrix(trained, X[i:i + 1], None if base is None else base[i:i + 1], forest)
        assert np.array_equal(got, want_margin[i:i + 1]), i
    for lo in range(0, len(X) - MAX_ROWS, 97):  # small batches through the forest
        b = None if base is None else base[lo:lo + MAX_ROWS]
        got = predict_proba_matrix(trained, X[lo:lo + MAX_ROWS], b, forest)
        assert np.array_equal(got, predict_proba_matrix(trained, X[lo:lo + MAX_ROWS], b))
    # Beyond MAX_ROWS XGBoost answers; the forest would too, with the same bits.
    assert np.array_equal(raw_margin_matrix(trained, X, base, forest), want_margin)
    prior = np.asarray(trained.prior)
    start = None
    if base is not None:
        from soccer_assets.modeling.train import base_margin_from_probabilities

        start = base_margin_from_probabilities(base, prior).astype(np.float32)
    assert np.array_equal(forest.margin(X, start), xgb_margin(trained.booster, n_iter, X, start))


def test_every_round_count_is_the_same_cut(trained, split):
    X = split.test[trained.features].head(40).to_numpy(np.float64)
    for n_iter in (1, 2, trained.best_iteration + 1, trained.booster.num_boosted_rounds()):
        forest = Forest.from_booster(trained.booster, n_iter)
        assert np.array_equal(forest.margin(X), xgb_margin(trained.booster, n_iter, X)), n_iter
    with pytest.raises(UnsupportedForest, match="rounds asked"):
        Forest.from_booster(trained.booster, trained.booster.num_boosted_rounds() + 1)
    with pytest.raises(UnsupportedForest, match="rounds asked"):
        Forest.from_booster(trained.booster, 0)


def _booster(objective: str, depth: int, rounds: int, seed: int, **extra) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 6))
    X[rng.random(X.shape) < 0.15] = np.nan  # missing values in training: learnt default sides
    X[:, 5] = np.round(X[:, 5])  # ties at the thresholds
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=600) > 0).astype(int)
    if objective.startswith("multi"):
        y = y + (np.nan_to_num(X[:, 1]) > 0.5)
        extra.setdefault("num_class", 3)
    params = {"objective": objective, "max_depth": depth, "eta": 0.3, "nthread": 1, "seed": seed, **extra}
    return xgb.train(params, xgb.DMatrix(X, label=y, missing=np.nan), rounds)


BOOSTERS = {
    "softprob depth 6": lambda: _booster("multi:softprob", 6, 30, 1),
    "softmax depth 1": lambda: _booster("multi:softmax", 1, 20, 2),
    "set base score": lambda: _booster("multi:softprob", 4, 25, 3, base_score=0.5),
    "lossguide": lambda: _booster("multi:softprob", 0, 15, 4, grow_policy="lossguide", max_leaves=12),
}


@pytest.fixture(scope="module", params=sorted(BOOSTERS))
def synthetic(request):
    booster = BOOSTERS[request.param]()
    return booster, Forest.from_booster(booster, booster.num_boosted_rounds())


def _row_values(forest: Forest) -> st.SearchStrategy[float]:
    thresholds = sorted({float(t) for t in forest.threshold[forest.left != np.arange(len(forest.left))]})
    near = st.sampled_from(thresholds).flatmap(
        lambda t: st.sampled_from([t, float(np.nextafter(np.float32(t), np.float32(-np.inf))),
                                   float(np.nextafter(np.float32(t), np.float32(np.inf)))]))
    return st.one_of(near, st.just(float("nan")), st.sampled_from([float("inf"), float("-inf")]),
                     st.floats(-1e6, 1e6, width=32))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_any_rows_any_base_margin(synthetic, data):
    """Rows on, just below and just above every threshold, missing or infinite: the same bits."""
    booster, forest = synthetic
    n = data.draw(st.integers(1, 24), label="rows")
    X = data.draw(hnp.arrays(np.float32, (n, forest.n_features), elements=_row_values(forest)), label="X")
    n_iter = booster.num_boosted_rounds()
    assert np.array_equal(forest.margin(X), xgb_margin(booster, n_iter, X))
    base = data.draw(hnp.arrays(np.float32, (n, forest.n_classes), elements=st.floats(-5, 5, width=32)))
    assert np.array_equal(forest.margin(X, base), xgb_margin(booster, n_iter, X, base))


def test_refuses_what_it_does_not_reproduce():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)
    binary = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), 5)
    with pytest.raises(UnsupportedForest, match="binary:logistic"):  # base_score is a probability
        Forest.from_booster(binary, 5)
    multi = {"objective": "multi:softprob", "num_class": 2}
    linear = xgb.train({"booster": "gblinear", **multi}, xgb.DMatrix(X, label=y), 5)
    with pytest.raises(UnsupportedForest, match="gblinear"):
        Forest.from_booster(linear, 5)
    forest_of_two = xgb.train({"num_parallel_tree": 2, "subsample": 0.8, **multi},
                              xgb.DMatrix(X, label=y), 3)
    with pytest.raises(UnsupportedForest, match="num_parallel_tree"):
        Forest.from_booster(forest_of_two, 3)
    import pandas as pd

    codes = rng.integers(0, 5, 300)
    cat = pd.DataFrame({"c": pd.Categorical(codes), "x": X[:, 0]})
    y_cat = np.isin(codes, [1, 3]).astype(int)
    categorical = xgb.train({"max_cat_to_onehot": 1, **multi},
                            xgb.DMatrix(cat, label=y_cat, enable_categorical=True), 5)
    with pytest.raises(UnsupportedForest, match="categorical"):
        Forest.from_booster(categorical, 5)


def test_a_forest_that_disagrees_with_its_booster_is_refused(monkeypatch):
    """The load-time check is what keeps a wrong walk from being served."""
    booster = BOOSTERS["softprob depth 6"]()
    real = Forest.margin
    monkeypatch.setattr(Forest, "margin", lambda self, X, base=None: real(self, X, base) + np.float32(1e-6))
    with pytest.raises(UnsupportedForest, match="do not reproduce"):
        Forest.from_booster(booster, booster.num_boosted_rounds())
