"""Drift statistics on constructed distributions whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from soccer_assets.monitoring import drift


def test_psi_of_identical_samples_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=5_000)
    assert drift.psi(x, x) == 0.0
    assert drift.psi_from_counts([3, 5, 7], [6, 10, 14]) == 0.0  # same shares, other totals


def test_psi_from_counts_matches_the_hand_computation() -> None:
    # shares e = .25 each, a = .1/.2/.3/.4:
    # (.1-.25)ln(.4) + (.2-.25)ln(.8) + (.3-.25)ln(1.2) + (.4-.25)ln(1.6)
    # = .137444 + .011157 + .009116 + .070501 = 0.228218 (to 6 places, by hand)
    assert drift.psi_from_counts([25, 25, 25, 25], [10, 20, 30, 40]) == pytest.approx(0.228218, abs=1e-6)
    # PSI is symmetric in its arguments ((a-e)ln(a/e) = (e-a)ln(e/a)).
    assert drift.psi_from_counts([10, 20, 30, 40], [25, 25, 25, 25]) == pytest.approx(0.228218, abs=1e-6)


def test_empty_bins_are_floored_not_infinite() -> None:
    value = drift.psi_from_counts([50, 50, 0], [50, 0, 50], eps=1e-4)
    # bin 2: (.5 - 1e-4) ln(.5/1e-4), bin 1 the same with the roles swapped; bin 0 is equal.
    expected = 2 * (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert value == pytest.approx(expected, rel=1e-12)


def test_binned_psi_of_shifted_normals_matches_the_exact_bin_probabilities() -> None:
    """Reference N(0,1), recent N(0.5,1). With the reference's decile bins, the exact bin shares are
    e_i = 0.1 and a_i = Phi(q_i - 0.5) - Phi(q_{i-1} - 0.5); a large sample lands close to the PSI
    of those shares, which is below the continuous limit (Jeffreys divergence mu^2 = 0.25)."""
    rng = np.random.default_rng(1)
    ref, rec = rng.normal(size=200_000), rng.normal(0.5, 1.0, size=200_000)
    q = norm.ppf(np.linspace(0, 1, 11))  # -inf, deciles, +inf
    a = np.diff(norm.cdf(q - 0.5))
    exact = float(np.sum((a - 0.1) * np.log(a / 0.1)))
    assert 0.2 < exact < 0.25
    assert drift.psi(ref, rec, bins=10) == pytest.approx(exact, abs=0.005)


def test_ks_on_shifted_normals() -> None:
    """sup |Phi(x) - Phi(x - d)| = 2 Phi(d/2) - 1 (at x = d/2): 0.1974 for d = 0.5."""
    rng = np.random.default_rng(2)
    stat, p = drift.ks_test(rng.normal(size=20_000), rng.normal(0.5, 1.0, size=20_000))
    assert stat == pytest.approx(2 * norm.cdf(0.25) - 1, abs=0.015)
    assert p < 1e-50
    stat0, p0 = drift.ks_test(rng.normal(size=20_000), rng.normal(size=20_000))
    assert stat0 < 0.02 and p0 > 0.001


def test_discrete_features_get_one_bin_per_value() -> None:
    ref = np.array([0.0] * 90 + [1.0] * 10)  # a promoted flag: 10 % ones
    rec = np.array([0.0] * 70 + [1.0] * 30)
    edges = drift.quantile_edges(ref, 10)
    assert list(edges) == [0.0]  # bins (-inf, 0] and (0, inf)
    assert list(drift.bin_counts(ref, edges)) == [90, 10]
    expected = (0.7 - 0.9) * math.log(0.7 / 0.9) + (0.3 - 0.1) * math.log(0.3 / 0.1)
    assert drift.psi(ref, rec) == pytest.approx(expected, rel=1e-9)


def test_missing_values_are_left_out() -> None:
    ref = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert drift.psi(ref, [1.0, 2.0, 3.0, 4.0, np.nan, np.nan]) == 0.0
    with pytest.raises(ValueError, match="no finite value"):
        drift.psi(ref, [np.nan])


def test_feature_drift_table_and_min_rows() -> None:
    import pandas as pd

    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.normal(size=5000)})
    recent = pd.DataFrame({"a": rng.normal(1.0, 1.0, size=400), "b": [np.nan] * 390 + [0.0] * 10})
    table = drift.feature_drift(reference, recent, ["a", "b"], min_rows=50).set_index("feature")
    assert table.loc["a", "judged"] and table.loc["a", "psi"] > 0.5
    assert not table.loc["b", "judged"] and math.isnan(table.loc["b", "psi"])
    assert table.loc["b", "missing_recent"] == pytest.approx(0.975)
    with pytest.raises(ValueError, match="missing"):
        drift.feature_drift(reference, recent, ["c"])


def test_prediction_drift_shares() -> None:
    ref = np.array([[0.5, 0.3, 0.2]] * 60 + [[0.2, 0.3, 0.5]] * 40)  # 60 % H, 40 % A predicted
    same = drift.prediction_drift(ref, ref)
    assert same["share_psi"] == 0.0
    assert same["share_reference"] == {"H": 0.6, "D": 0.0, "A": 0.4}
    swapped = drift.prediction_drift(ref, ref[:, ::-1])  # 40 % H, 60 % A
    expected = (0.4 - 0.6) * math.log(0.4 / 0.6) + (0.6 - 0.4) * math.log(0.6 / 0.4)
    assert swapped["share_psi"] == pytest.approx(expected, rel=1e-9)
    assert swapped["mean_recent"]["H"] == pytest.approx(ref[:, 2].mean())


def test_same_season_stage_compares_like_with_like() -> None:
    """A feature that only follows the season's clock: whole seasons against requests of matches
    20-25 drift hugely; restricted to the same stage, the two distributions are identical (PSI 0)."""
    clock = np.repeat(np.arange(38.0), 10)  # 38 match days, 10 rows each
    reference = pd.DataFrame({"home_season_matches": clock, "points_so_far": clock * 1.4})
    recent_clock = np.repeat(np.arange(20.0, 26.0), 3)
    recent = pd.DataFrame({"home_season_matches": recent_clock, "points_so_far": recent_clock * 1.4})
    whole = drift.feature_drift(reference, recent, ["points_so_far"]).iloc[0]
    assert whole["psi"] > 1.0
    aligned = drift.same_season_stage(reference, recent["home_season_matches"], "home_season_matches")
    assert sorted(set(aligned["home_season_matches"])) == list(np.arange(20.0, 26.0))
    assert len(aligned) == 60
    same = drift.feature_drift(aligned, recent, ["points_so_far"]).iloc[0]
    assert same["psi"] == pytest.approx(0.0, abs=1e-12)
    assert same["ks_statistic"] == pytest.approx(0.0, abs=1e-12)
    # A real shift is still seen at the same stage: every recent value 3 points higher.
    shifted = recent.assign(points_so_far=recent["points_so_far"] + 3)
    assert drift.feature_drift(aligned, shifted, ["points_so_far"]).iloc[0]["psi"] > 0.25


def test_same_season_stage_refuses_what_it_cannot_align() -> None:
    reference = pd.DataFrame({"home_season_matches": [1.0, 2.0]})
    with pytest.raises(ValueError, match="no 'away_season_matches' column"):
        drift.same_season_stage(reference, [1.0], "away_season_matches")
    with pytest.raises(ValueError, match="no recent request has a finite"):
        drift.same_season_stage(reference, [np.nan], "home_season_matches")


def test_stage_reference_falls_back_to_whole_seasons_and_says_why() -> None:
    reference = pd.DataFrame({"home_season_matches": np.repeat(np.arange(38.0), 2)})
    clock = "home_season_matches"
    aligned, note = drift.stage_reference(reference, pd.Series([30.0, 31.0, np.nan]), clock, 4)
    assert list(aligned["home_season_matches"]) == [30.0, 30.0, 31.0, 31.0]
    assert note == ("reference: the 4 of 76 rows with home_season_matches in [30, 31], "
                    "the recent requests' stage of the season")
    whole, note = drift.stage_reference(reference, pd.Series([30.0, 31.0]), clock, 5)
    assert whole is reference
    assert note == "reference: whole seasons (only 4 rows with home_season_matches in [30, 31])"
    for clock_values in (None, pd.Series([np.nan, np.nan])):
        whole, note = drift.stage_reference(reference, clock_values, clock, 1)
        assert whole is reference and "is not in both" in note
    whole, note = drift.stage_reference(reference, pd.Series([3.0]), "away_season_matches", 1)
    assert whole is reference and "away_season_matches is not in both" in note
