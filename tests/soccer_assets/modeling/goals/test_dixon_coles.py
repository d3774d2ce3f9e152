"""The weekly Dixon–Coles baseline: the fit recovers known parameters, its gradient is right, and a
week's forecast sees only matches before that week."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from soccer_assets.modeling.goals import dixon_coles as DC
from soccer_assets.modeling.markets import dixon_coles_grid, one_x_two


def simulate(seed: int = 0, n_teams: int = 20, rounds: int = 6, rho: float = -0.08):
    rng = np.random.default_rng(seed)
    attack = rng.normal(0, 0.3, n_teams)
    attack -= attack.mean()
    defence = rng.normal(0, 0.25, n_teams)
    home = 0.3
    pairs = [(h, a) for h in range(n_teams) for a in range(n_teams) if h != a] * rounds
    hi, ai = np.array(pairs).T
    lh, la = np.exp(0.1 + home + attack[hi] - defence[ai]), np.exp(0.1 + attack[ai] - defence[hi])
    grids = dixon_coles_grid(lh, la, rho)
    flat = grids.reshape(len(hi), -1)
    cells = np.array([rng.choice(flat.shape[1], p=row / row.sum()) for row in flat])
    return hi, ai, cells // grids.shape[2], cells % grids.shape[2], attack, defence, home, rho


def test_fit_recovers_the_parameters_it_was_simulated_with():
    hi, ai, x, y, attack, defence, home, rho = simulate()
    fit = DC.fit_dixon_coles(hi, ai, x, y, np.ones(len(x)), 20)
    assert fit.converged
    assert abs(fit.attack.sum()) < 1e-3
    assert np.corrcoef(fit.attack, attack)[0, 1] > 0.9
    assert np.corrcoef(fit.defence - fit.defence.mean(), defence - defence.mean())[0, 1] > 0.85
    assert fit.home_adv == pytest.approx(home, abs=0.08)
    assert fit.rho == pytest.approx(rho, abs=0.07)


def test_analytic_gradient_equals_finite_differences():
    hi, ai, x, y, *_ = simulate(seed=1, n_teams=6, rounds=2)
    w = np.random.default_rng(2).uniform(0.2, 1.0, len(x))
    theta = np.random.default_rng(3).normal(0, 0.2, 2 * 6 + 2)
    theta[-1] = 0.05

    def f(t):
        return DC._nll_and_grad(t, hi, ai, x.astype(float), y.astype(float), w, 6)[0]

    def g(t):
        return DC._nll_and_grad(t, hi, ai, x.astype(float), y.astype(float), w, 6)[1]

    assert check_grad(f, g, theta, epsilon=1e-7) < 1e-5


def test_weights_and_bad_input():
    dates = pd.to_datetime(["2024-01-01", "2024-01-11"])
    assert DC.decay_weights(dates, "2024-01-11", xi=0.0).tolist() == [1.0, 1.0]
    assert DC.decay_weights(dates, "2024-01-11").tolist() == pytest.approx([np.exp(-0.018), 1.0])
    with pytest.raises(ValueError, match="xi"):
        DC.decay_weights(dates, "2024-01-11", xi=-1)
    with pytest.raises(ValueError, match="no matches"):
        DC.fit_dixon_coles([], [], [], [], [], 2)
    with pytest.raises(ValueError, match=">= 0"):
        DC.fit_dixon_coles([0], [1], [-1], [0], [1.0], 2)
    with pytest.raises(ValueError, match="one length"):
        DC.fit_dixon_coles([0, 1], [1], [1], [0], [1.0], 2)
    with pytest.raises(ValueError, match="lack columns"):
        DC.weekly_dixon_coles(pd.DataFrame({"match_id": []}), "2023-24")


def league_table(seed: int = 4) -> pd.DataFrame:
    """Two English divisions over two seasons; a team moves from E1 up to E0."""
    rng = np.random.default_rng(seed)
    rows = []
    divisions = {"E0": [f"P{i}" for i in range(6)], "E1": [f"C{i}" for i in range(6)]}
    for season, start in (("2022-23", "2022-08-06"), ("2023-24", "2023-08-05")):
        teams = dict(divisions)
        if season == "2023-24":  # C0 promoted, P5 relegated
            teams = {"E0": [*divisions["E0"][:5], "C0"], "E1": ["P5", *divisions["E1"][1:]]}
        day = pd.Timestamp(start)
        for _ in range(4):
            for league, names in teams.items():
                order = rng.permutation(names)
                for k in range(0, len(order), 2):
                    h, a = order[k], order[k + 1]
                    strong = 1.0 if h == "C0" else 0.0
                    rows.append({"match_id": f"{league}|{season}|{h}|{a}|{day.date()}", "league": league,
                                 "season": season, "date": day, "home_team": h, "away_team": a,
                                 "fthg": int(rng.poisson(1.5 + strong)), "ftag": int(rng.poisson(1.1))})
            day += pd.Timedelta(days=7)
    return pd.DataFrame(rows)


def test_a_week_sees_only_matches_before_its_monday():
    df = league_table()
    base = DC.weekly_dixon_coles(df, "2023-24").set_index("match_id")
    weeks = sorted(set(df.loc[df.season == "2023-24", "date"]))
    cut = weeks[2]
    later = df["date"] >= cut
    changed = df.copy()
    changed.loc[later, "fthg"] = 9
    changed.loc[later & (df["date"] > cut), "ftag"] = np.nan
    again = DC.weekly_dixon_coles(changed, "2023-24").set_index("match_id")
    before = df.loc[(df.season == "2023-24") & (df.date <= cut), "match_id"]
    cols = ["lam_home", "lam_away", "rho"]
    assert np.array_equal(base.loc[before, cols].to_numpy(), again.loc[before, cols].to_numpy())
    # Not vacuous: a change before the week moves the forecast.
    earlier = df.copy()
    earlier.loc[df["date"] == weeks[1], "fthg"] += 3
    moved = DC.weekly_dixon_coles(earlier, "2023-24").set_index("match_id")
    week = df.loc[df.date == cut, "match_id"]
    assert not np.allclose(base.loc[week, "lam_home"], moved.loc[week, "lam_home"])


def test_divisions_of_a_country_are_pooled():
    df = league_table()
    out = DC.weekly_dixon_coles(df, "2023-24")
    assert len(out) == (df.season == "2023-24").sum()
    assert set(out["league"]) == {"E0", "E1"}
    assert DC.country_of("E1") == DC.country_of("E0") == "E" and DC.country_of("SP1") == "SP"
    # The promoted C0 (strong in E1) is strong in its first E0 week: its E1 history counts.
    first = df[(df.season == "2023-24") & (df.date == df.loc[df.season == "2023-24", "date"].min())]
    row = first[(first.home_team == "C0") | (first.away_team == "C0")].iloc[0]
    got = out.set_index("match_id").loc[row.match_id]
    lam_c0 = got.lam_home if row.home_team == "C0" else got.lam_away
    assert lam_c0 > 1.5


def test_real_season_beats_climatology(small_matches):
    from soccer_assets.modeling import metrics as M

    out = DC.weekly_dixon_coles(small_matches, "2022-23")
    played = small_matches.set_index("match_id").loc[out["match_id"]]
    y = M.outcome_index(played["ftr"])
    p = one_x_two(dixon_coles_grid(out["lam_home"], out["lam_away"], out["rho"]))
    clim = np.bincount(y, minlength=3) / len(y)
    assert 0.19 < M.rps(p, y) < M.rps(np.tile(clim, (len(y), 1)), y)
