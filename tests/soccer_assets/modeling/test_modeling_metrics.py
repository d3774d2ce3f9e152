"""Scoring rules against hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from soccer_assets.modeling import metrics as M

H, D, A = 0, 1, 2


# Constantinou & Fenton (2012), "Solving the problem of inadequate scoring rules for assessing
# probabilistic football forecast models", J. Quant. Anal. Sports 8(1): RPS of forecasts for an
# observed home win. RPS = 1/2 * [(P_H - E_H)^2 + (P_H + P_D - E_H - E_D)^2] with E = (1, 0, 0):
#   (1, 0, 0):        cum = (1, 1)        -> ((0)^2 + (0)^2) / 2                  = 0
#   (0.9, 0.1, 0):    cum = (0.9, 1.0)    -> ((-0.1)^2 + 0^2) / 2 = 0.01 / 2      = 0.005
#   (0.8, 0.1, 0.1):  cum = (0.8, 0.9)    -> (0.04 + 0.01) / 2 = 0.05 / 2         = 0.025
#   (0.5, 0.25, 0.25):cum = (0.5, 0.75)   -> (0.25 + 0.0625) / 2 = 0.3125 / 2     = 0.15625
#   (0.6, 0.25, 0.15):cum = (0.6, 0.85)   -> (0.16 + 0.0225) / 2 = 0.1825 / 2     = 0.09125
#   (0.6, 0.15, 0.25):cum = (0.6, 0.75)   -> (0.16 + 0.0625) / 2 = 0.2225 / 2     = 0.11125
# The last pair is the paper's point: same P(H), but the forecast that puts its remaining mass
# nearer the observed outcome (on the draw rather than the away win) must score better.
@pytest.mark.parametrize(
    ("forecast", "expected"),
    [
        ((1.0, 0.0, 0.0), 0.0),
        ((0.9, 0.1, 0.0), 0.005),
        ((0.8, 0.1, 0.1), 0.025),
        ((0.5, 0.25, 0.25), 0.15625),
        ((0.6, 0.25, 0.15), 0.09125),
        ((0.6, 0.15, 0.25), 0.11125),
    ],
)
def test_rps_constantinou_fenton_home_win(forecast, expected):
    assert M.rps(np.array([forecast]), np.array([H])) == pytest.approx(expected, abs=1e-12)


def test_rps_other_outcomes_by_hand():
    # Draw observed, uniform forecast: cum p = (1/3, 2/3), cum e = (0, 1)
    #   -> ((1/3)^2 + (1/3)^2) / 2 = (2/9) / 2 = 1/9
    assert M.rps(np.array([[1 / 3, 1 / 3, 1 / 3]]), np.array([D])) == pytest.approx(1 / 9)
    # Away observed, (0.6, 0.3, 0.1): cum p = (0.6, 0.9), cum e = (0, 0)
    #   -> (0.36 + 0.81) / 2 = 0.585
    assert M.rps(np.array([[0.6, 0.3, 0.1]]), np.array([A])) == pytest.approx(0.585)
    # Away observed, certain home win: worst possible score (1 + 1) / 2 = 1
    assert M.rps(np.array([[1.0, 0.0, 0.0]]), np.array([A])) == pytest.approx(1.0)
    # Ordering: for an away win, mass on the draw is less wrong than mass on the home win.
    assert M.rps(np.array([[0.0, 1.0, 0.0]]), np.array([A])) == pytest.approx(0.5)


def test_rps_is_the_mean_over_matches():
    probs = np.array([[0.9, 0.1, 0.0], [0.8, 0.1, 0.1]])
    assert M.rps(probs, np.array([H, H])) == pytest.approx((0.005 + 0.025) / 2)
    np.testing.assert_allclose(M.rps_per_match(probs, np.array([H, H])), [0.005, 0.025])


def test_log_loss_by_hand_and_clipping():
    probs = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    # -(ln 0.5 + ln 0.5) / 2 = ln 2
    assert M.log_loss(probs, np.array([H, A])) == pytest.approx(math.log(2))
    # Zero probability on the observed outcome is clipped to eps, not infinite.
    assert M.log_loss(np.array([[1.0, 0.0, 0.0]]), np.array([D]), eps=1e-15) == pytest.approx(
        -math.log(1e-15)
    )


def test_brier_multiclass_convention():
    # (0.5, 0.3, 0.2) for a home win: (0.5-1)^2 + 0.3^2 + 0.2^2 = 0.25 + 0.09 + 0.04 = 0.38
    # (1, 0, 0) for an away win: 1 + 0 + 1 = 2 (the maximum)
    probs = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    assert M.brier(probs, np.array([H, A])) == pytest.approx((0.38 + 2.0) / 2)


def test_accuracy_ties_go_to_the_first_outcome():
    probs = np.array([[0.4, 0.4, 0.2], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    assert M.accuracy(probs, np.array([H, A, H])) == pytest.approx(2 / 3)


def test_ece_by_hand():
    # Four matches, each outcome column binned on its own (10 bins of width 0.1).
    probs = np.array([[0.65, 0.25, 0.10]] * 4)
    y = np.array([H, H, D, A])
    # H: one bin (0.6, 0.7], mean 0.65, freq 2/4 -> |0.65 - 0.5|  = 0.15
    # D: one bin (0.2, 0.3], mean 0.25, freq 1/4 -> |0.25 - 0.25| = 0
    # A: one bin (0.0, 0.1], mean 0.10, freq 1/4 -> |0.10 - 0.25| = 0.15
    assert M.ece(probs, y) == pytest.approx((0.15 + 0 + 0.15) / 3)
    # Top label: confidence 0.65 in one bin, argmax (H) right 2/4 -> 0.15
    assert M.ece(probs, y, kind="top_label") == pytest.approx(0.15)


def test_ece_weights_bins_by_count():
    probs = np.array([[0.95, 0.03, 0.02], [0.15, 0.25, 0.6], [0.15, 0.25, 0.6], [0.15, 0.25, 0.6]])
    y = np.array([H, A, A, H])
    # H: bin (0.9,1]: 1 match, mean 0.95, freq 1 -> gap 0.05; bin (0.1,0.2]: 3, mean .15,
    #    freq 1/3 -> gap 0.18333; ECE_H = 1/4*0.05 + 3/4*0.18333 = 0.15
    # D: bin (0,0.1]: 1, mean .03, freq 0 -> .03; bin (.2,.3]: 3, mean .25, freq 0 -> .25
    #    ECE_D = 0.0075 + 0.1875 = 0.195
    # A: bin (0,0.1]: 1, mean .02, freq 0 -> .02; bin (.5,.6]: 3, mean .6, freq 2/3 -> .06667
    #    ECE_A = 0.005 + 0.05 = 0.055
    assert M.ece(probs, y) == pytest.approx((0.15 + 0.195 + 0.055) / 3)


def test_reliability_data_shape_and_counts():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([3, 2, 2], size=500)
    y = rng.integers(0, 3, size=500)
    rel = M.reliability_data(probs, y, n_bins=5)
    assert set(rel) == {"H", "D", "A"}
    for k, name in enumerate("HDA"):
        r = rel[name]
        assert len(r["count"]) == 5 and sum(r["count"]) == 500
        assert r["bin_lower"][0] == 0.0 and r["bin_upper"][-1] == 1.0
        for mp, lo, hi, c in zip(
            r["mean_predicted"], r["bin_lower"], r["bin_upper"], r["count"], strict=True
        ):
            if c == 0:
                assert mp is None
            else:
                assert lo - 1e-12 <= mp <= hi + 1e-12
        observed = sum(f * c for f, c in zip(r["observed_frequency"], r["count"], strict=True) if c)
        assert observed == pytest.approx(np.sum(y == k))


def test_outcome_index():
    np.testing.assert_array_equal(M.outcome_index(pd.Series(["H", "D", "A", "H"])), [0, 1, 2, 0])
    with pytest.raises(ValueError):
        M.outcome_index(pd.Series(["H", None]))
    with pytest.raises(ValueError):
        M.outcome_index(["X"])


def test_score_all_and_input_checks():
    probs = np.array([[0.5, 0.3, 0.2]])
    s = M.score_all(probs, np.array([H]))
    assert s["n"] == 1 and set(s) == {"n", "rps", "log_loss", "brier", "accuracy", "ece"}
    with pytest.raises(ValueError):
        M.rps(np.array([[0.5, 0.5]]), np.array([H]))
    with pytest.raises(ValueError):
        M.rps(np.array([[np.nan, 0.5, 0.5]]), np.array([H]))
    with pytest.raises(ValueError):
        M.rps(probs, np.array([3]))


def test_paired_rps_diff_interval_follows_the_per_match_differences():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=400)
    sharp = np.eye(3)[y] * 0.5 + 1 / 6  # leans to the right outcome on every match
    flat = np.full((400, 3), 1 / 3)
    better = M.paired_rps_diff(sharp, flat, y)
    assert better["n"] == 400
    assert better["rps_diff"] == pytest.approx(M.rps(sharp, y) - M.rps(flat, y), abs=1e-15)
    assert better["ci95"][1] < 0 and better["share_below"] == 1.0
    worse = M.paired_rps_diff(flat, sharp, y)
    assert worse["ci95"][0] > 0 and worse["share_below"] == 0.0
    # A forecast against itself: no gap and no spread.
    same = {"n": 400, "rps_diff": 0.0, "ci95": [0.0, 0.0], "share_below": 0.0}
    assert M.paired_rps_diff(flat, flat, y) == same
    # Two forecasts of equal skill whose errors differ per match: the interval straddles 0.
    noisy = np.clip(flat + rng.normal(0, 0.05, size=(400, 3)), 0.01, None)
    noisy /= noisy.sum(axis=1, keepdims=True)
    mixed = M.paired_rps_diff(noisy, flat, y)
    assert mixed["ci95"][0] < mixed["rps_diff"] < mixed["ci95"][1]
    assert M.paired_rps_diff(noisy, flat, y, seed=1)["ci95"] != mixed["ci95"]  # resamples, seeded
    assert M.paired_rps_diff(noisy, flat, y) == mixed
    with pytest.raises(ValueError, match="no forecasts"):
        M.paired_rps_diff(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="n_boot"):
        M.paired_rps_diff(flat, flat, y, n_boot=0)
