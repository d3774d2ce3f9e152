"""Elo and pi-ratings: hand-computed worked examples and basic invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soccer_assets.features.elo import (
    EloParams,
    elo_expected_home,
    elo_update,
    goal_diff_multiplier,
    regress,
)
from soccer_assets.features.pi_ratings import (
    PiParams,
    expected_goal_diff,
    pi_expected_gd,
    pi_update,
)

ELO = EloParams(k=20.0, home_advantage=65.0, base=1500.0, scale=400.0)
PI = PiParams(lam=0.035, gamma=0.7, c=3.0, b=10.0)  # Constantinou & Fenton (2013)


def test_goal_diff_multiplier_world_football_elo() -> None:
    # G = 1 for a draw or one-goal margin, 1.5 for two, (11 + N) / 8 for N >= 3.
    assert [goal_diff_multiplier(n) for n in (0, 1, -1, 2, -2, 3, 4, 5)] == [
        1.0, 1.0, 1.0, 1.5, 1.5, 14 / 8, 15 / 8, 2.0,
    ]


def test_elo_worked_example_equal_teams_home_win_by_two() -> None:
    # 1500 v 1500, home advantage 65:  E = 1 / (1 + 10^(-65/400)) = 1 / (1 + 0.6878599)
    #                                    = 0.5924662
    # Home wins 3-1: W = 1, G = 1.5.   Δ = 20 * 1.5 * (1 - 0.5924662) = 12.226013
    # New ratings: 1512.226013 and 1487.773987.
    assert elo_expected_home(1500, 1500, ELO) == pytest.approx(0.5924662, abs=1e-7)
    h, a = elo_update(1500.0, 1500.0, 3, 1, ELO)
    assert h == pytest.approx(1512.226013, abs=1e-6)
    assert a == pytest.approx(1487.773987, abs=1e-6)


def test_elo_worked_example_favourite_held_to_a_draw() -> None:
    # 1600 (home) v 1500: E = 1 / (1 + 10^(-(100 + 65)/400)) = 1 / (1 + 0.3868121) = 0.7210782
    # 0-0 draw: W = 0.5, G = 1.        Δ = 20 * (0.5 - 0.7210782) = -4.421564
    h, a = elo_update(1600.0, 1500.0, 0, 0, ELO)
    assert h == pytest.approx(1595.578436, abs=1e-6)
    assert a == pytest.approx(1504.421564, abs=1e-6)


def test_elo_worked_example_heavy_away_win() -> None:
    # 1450 (home) v 1550: E = 1 / (1 + 10^(35/400)) = 1 / (1 + 1.2232071) = 0.4498006
    # 0-4: W = 0, G = (11 + 4) / 8 = 1.875.  Δ = 20 * 1.875 * (0 - 0.4498006) = -16.867524
    h, a = elo_update(1450.0, 1550.0, 0, 4, ELO)
    assert h == pytest.approx(1433.132476, abs=1e-6)
    assert a == pytest.approx(1566.867524, abs=1e-6)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    rh=st.floats(1000, 2000), ra=st.floats(1000, 2000), hg=st.integers(0, 7), ag=st.integers(0, 7)
)
def test_elo_is_zero_sum_and_moves_towards_the_result(rh: float, ra: float, hg: int, ag: int
                                                     ) -> None:
    h, a = elo_update(rh, ra, hg, ag, ELO)
    assert h + a == pytest.approx(rh + ra, abs=1e-9)
    if hg > ag:
        assert h > rh
    elif hg < ag:
        assert h < rh


def test_regress() -> None:
    assert regress(1600.0, 1500.0, 0.2) == pytest.approx(1580.0)
    assert regress(1600.0, 1500.0, 0.0) == 1600.0


def test_pi_expected_goal_diff_mapping() -> None:
    # ĝ(r) = sign(r) (10^{|r|/3} - 1): ĝ(0.5) = 10^0.1666667 - 1 = 1.4677993 - 1 = 0.4677993,
    # ĝ(-0.2) = -(10^0.0666667 - 1) = -(1.1659144 - 1) = -0.1659144; ĝ(3) = 9.
    assert expected_goal_diff(0.5, PI) == pytest.approx(0.4677993, abs=1e-7)
    assert expected_goal_diff(-0.2, PI) == pytest.approx(-0.1659144, abs=1e-7)
    assert expected_goal_diff(3.0, PI) == pytest.approx(9.0)
    assert expected_goal_diff(0.0, PI) == 0.0


def test_pi_worked_example_from_zero() -> None:
    # All ratings 0, so ĝ_D = 0. Home wins 2-0: g_D = 2, e = |2 - 0| = 2,
    # ψ(e) = 3 log10(1 + 2) = 3 * 0.4771213 = 1.4313638; g_D > ĝ_D so ψ_H = +1.4313638 and
    # ψ_A = -1.4313638.
    # Home team: R^H += 0.035 * 1.4313638 = +0.0500977; R^A += 0.7 * 0.0500977 = +0.0350684.
    # Away team: R^A += 0.035 * -1.4313638 = -0.0500977; R^H += 0.7 * -0.0500977 = -0.0350684.
    hh, ha, ah, aa = pi_update(0.0, 0.0, 0.0, 0.0, 2, 0, PI)
    assert hh == pytest.approx(0.0500977, abs=1e-7)
    assert ha == pytest.approx(0.0350684, abs=1e-7)
    assert ah == pytest.approx(-0.0350684, abs=1e-7)
    assert aa == pytest.approx(-0.0500977, abs=1e-7)


def test_pi_worked_example_favourite_held_to_a_draw() -> None:
    # Home team ratings (R^H, R^A) = (0.5, 0.3), away team (R^H, R^A) = (-0.1, -0.2). Only the
    # home team's home rating and the away team's away rating enter the expectation:
    #   ĝ_D = ĝ(0.5) - ĝ(-0.2) = 0.4677993 + 0.1659144 = 0.6337137.
    # 1-1 draw: g_D = 0, e = 0.6337137, ψ = 3 log10(1.6337137) = 3 * 0.2131759 = 0.6395278.
    # g_D < ĝ_D, so ψ_H = -0.6395278 and ψ_A = +0.6395278.
    # Home: R^H = 0.5 - 0.035 * 0.6395278 = 0.5 - 0.0223835 = 0.4776165;
    #       R^A = 0.3 - 0.7 * 0.0223835 = 0.3 - 0.0156684 = 0.2843316.
    # Away: R^A = -0.2 + 0.0223835 = -0.1776165;  R^H = -0.1 + 0.0156684 = -0.0843316.
    assert pi_expected_gd(0.5, -0.2, PI) == pytest.approx(0.6337137, abs=1e-7)
    hh, ha, ah, aa = pi_update(0.5, 0.3, -0.1, -0.2, 1, 1, PI)
    assert hh == pytest.approx(0.4776165, abs=1e-7)
    assert ha == pytest.approx(0.2843316, abs=1e-7)
    assert ah == pytest.approx(-0.0843316, abs=1e-7)
    assert aa == pytest.approx(-0.1776165, abs=1e-7)


def test_pi_exact_expectation_gives_no_update() -> None:
    # ĝ_D = ĝ(c log10 2) - 0 = 1 exactly when R^H = 3 log10(2); a 1-0 win then has e = 0.
    r = 3 * math.log10(2.0)
    hh, ha, ah, aa = pi_update(r, 0.0, 0.0, 0.0, 1, 0, PI)
    assert hh == pytest.approx(r, abs=1e-12)
    assert (ha, ah, aa) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
