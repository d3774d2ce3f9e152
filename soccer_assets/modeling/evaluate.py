"""Walk-forward evaluation of one season: the model against every baseline (pure).

``evaluate(features_df, matches_df, test_season, variant, seed)`` splits the feature table
(:func:`~soccer_assets.modeling.split.temporal_split`), trains the XGBoost model on the seasons
before ``test_season``, predicts that season and scores the model and the baselines

* ``climatology`` — per-league H/D/A frequencies of the training period (train + validation),
* ``elo`` — multinomial logit on the Elo difference, fitted on train + validation,
* ``pinnacle_close``, ``pinnacle_open``, ``average_close``, ``average_open`` — de-margined odds
  (Shin) of the canonical match table; closing odds are an evaluation reference only,

overall, per league and on the matches of a team new to its division (``entrant_matches``),
with n, RPS, log loss, Brier, accuracy and ECE
(:mod:`~soccer_assets.modeling.metrics` documents the conventions). Every forecaster is scored on
the test rows where it has a forecast — for market baselines, the rows with those odds — and
reports its own ``n``; ``paired`` compares the model with each baseline on exactly that
baseline's rows, and ``paired_by_league`` does so per league for Elo, climatology and the opening
market, with a 95% paired bootstrap interval of the RPS difference
(:func:`~soccer_assets.modeling.metrics.paired_rps_diff`).
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.baselines import (
    DEFAULT_DEMARGIN,
    Climatology,
    RatingLogit,
    all_market_baselines,
)
from soccer_assets.modeling.split import Split, temporal_split
from soccer_assets.modeling.train import TrainedModel, TrainParams, predict_proba, train_model

MODEL = "model"
BASELINES = (
    "climatology",
    "elo",
    "pinnacle_close",
    "pinnacle_open",
    "average_close",
    "average_open",
)
# The baselines a league's model is compared with in ``paired_by_league`` (closing prices are a
# reference the overall ``paired`` table already holds).
PAIRED_BY_LEAGUE = ("elo", "climatology", "pinnacle_open")


@dataclass
class MarketBacktest:
    """The market side of one evaluation (``run_backtest(..., markets=True)``)."""

    grids: np.ndarray  # (n_test, G+1, G+1), rows in the order of Backtest.predictions
    candidates: pd.DataFrame  # validation + test season betting candidates
    bets: dict  # staking -> betting.BacktestReport (test season only)


@dataclass
class Backtest:
    """Everything one walk-forward evaluation produced."""

    split: Split
    model: TrainedModel
    predictions: pd.DataFrame  # test rows: keys, y, and p_h/p_d/p_a of the model and baselines
    report: dict
    markets: MarketBacktest | None = None


def elo_feature() -> str:
    """The rating-difference feature used by the Elo-only baseline."""
    from soccer_assets.features import build

    explicit = getattr(build, "ELO_DIFF_FEATURE", None)
    if explicit:
        return str(explicit)
    candidates = [c for c in build.RATING_FEATURES if "elo" in c.lower() and "diff" in c.lower()]
    if not candidates:
        raise RuntimeError(f"no Elo difference among RATING_FEATURES {build.RATING_FEATURES}")
    return candidates[0]


def _clean(value):
    """JSON-friendly: numpy scalars to Python, NaN/inf to None, recursively."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _score(probs: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> dict:
    ok = np.all(np.isfinite(probs), axis=1)
    if mask is not None:
        ok &= mask
    if not ok.any():
        return {"n": 0}
    return M.score_all(probs[ok], y[ok])


def attach_labels(features_df: pd.DataFrame, matches_df: pd.DataFrame) -> pd.DataFrame:
    """Features + ``y`` (0/1/2), the score and the match table's odds columns, on ``match_id``.

    Rows without a result (unplayed fixtures) are dropped.
    """
    extra = ["ftr", "fthg", "ftag"] + [c for c in matches_df.columns if c.startswith("odds_")]
    extra = [c for c in dict.fromkeys(extra) if c in matches_df.columns]
    right = matches_df[["match_id", *extra]].drop_duplicates("match_id")
    overlap = [c for c in extra if c in features_df.columns]
    df = features_df.drop(columns=overlap).merge(right, on="match_id", how="left", validate="1:1")
    df = df[df["ftr"].isin(["H", "D", "A"])].copy()
    df["y"] = M.outcome_index(df["ftr"])
    return df.reset_index(drop=True)


def run_backtest(
    features_df: pd.DataFrame,
    matches_df: pd.DataFrame,
    test_season: str,
    variant: str = "ratings",
    seed: int = 0,
    params: TrainParams | None = None,
    validation_seasons: int = 1,
    demargin_method: str = DEFAULT_DEMARGIN,
    features: list[str] | None = None,
    base_margin_columns: list[str] | None = None,
    elo_column: str | None = None,
    markets: bool = False,
    dixon_coles: pd.DataFrame | None = None,
    score_leagues: Sequence[str] | None = None,
) -> Backtest:
    """Split, train, predict ``test_season`` and score the model and every baseline.

    ``score_leagues``: score only these leagues' test matches; the model and the baselines still
    learn from every league in the frames (pooled training).

    ``markets=True`` also prices every test row's score grid and adds the ``markets`` and
    ``betting`` objects of :mod:`soccer_assets.modeling.market_eval` to the report;
    ``dixon_coles`` (``match_id, lam_home, lam_away, rho`` of the test season, e.g.
    ``goals.dixon_coles.weekly_dixon_coles``) is then scored as the goal-model baseline.
    """
    data = attach_labels(features_df, matches_df)
    split = temporal_split(data, test_season, validation_seasons=validation_seasons)
    if score_leagues is not None:
        scored = split.test[split.test["league"].isin(list(score_leagues))].reset_index(drop=True)
        split = dataclasses.replace(split, test=scored,
                                    boundaries={**split.boundaries, "n_test": len(scored)})
    if split.test.empty:
        raise ValueError(f"no played matches of {test_season} to evaluate")
    model = train_model(
        split.train,
        split.train["y"].to_numpy(),
        split.validation,
        split.validation["y"].to_numpy(),
        variant=variant,
        seed=seed,
        params=params,
        features=features,
        base_margin_columns=base_margin_columns,
    )
    test, fit = split.test, split.fit
    y = test["y"].to_numpy()
    forecasts: dict[str, np.ndarray] = {MODEL: predict_proba(model, test)}
    forecasts["climatology"] = (
        Climatology().fit(fit["league"], fit["y"].to_numpy()).predict_proba(test["league"])
    )
    elo_col = elo_column or elo_feature()
    forecasts["elo"] = RatingLogit(elo_col).fit(fit, fit["y"].to_numpy()).predict_proba(test)
    forecasts.update(all_market_baselines(test, method=demargin_method))

    leagues = sorted(set(test["league"]))
    overall = {name: _score(p, y) for name, p in forecasts.items()}
    by_league = {
        lg: {name: _score(p, y, (test["league"] == lg).to_numpy()) for name, p in forecasts.items()}
        for lg in leagues
    }
    # Matches with a team new to its division this season (promoted, relegated or returning):
    # where the entrant's starting rating matters (FeatureParams.country_carry).
    promoted = np.zeros(len(test), dtype=bool)
    for side in ("home_promoted", "away_promoted"):
        if side in test:
            promoted |= test[side].to_numpy(dtype=np.float64) == 1.0
    entrants = {name: _score(forecasts[name], y, promoted) for name in (MODEL, "elo", "pinnacle_open")}
    paired = {}
    for name in BASELINES:
        ok = np.all(np.isfinite(forecasts[name]), axis=1)
        if not ok.any():
            paired[name] = {"n": 0}
            continue
        m_rps = M.rps(forecasts[MODEL][ok], y[ok])
        b_rps = M.rps(forecasts[name][ok], y[ok])
        paired[name] = {
            "n": int(ok.sum()),
            "model_rps": m_rps,
            "baseline_rps": b_rps,
            "rps_diff": m_rps - b_rps,
            "model_log_loss": M.log_loss(forecasts[MODEL][ok], y[ok]),
            "baseline_log_loss": M.log_loss(forecasts[name][ok], y[ok]),
        }

    # Per league, with a paired bootstrap interval: over one season of one league a gap of a few
    # 1e-4 is noise, and the per-league table (docs/results.md) says which gaps are not.
    paired_by_league = {}
    for lg in leagues:
        in_lg = (test["league"] == lg).to_numpy()
        paired_by_league[lg] = {}
        for name in PAIRED_BY_LEAGUE:
            ok = in_lg & np.all(np.isfinite(forecasts[name]), axis=1)
            paired_by_league[lg][name] = (M.paired_rps_diff(forecasts[MODEL][ok], forecasts[name][ok], y[ok])
                                          if ok.any() else {"n": 0})

    reliability = {
        name: M.reliability_data(p[np.all(np.isfinite(p), axis=1)], y[np.all(np.isfinite(p), 1)])
        for name, p in forecasts.items()
        if name in (MODEL, "pinnacle_close") and np.isfinite(p).all(axis=1).any()
    }
    report = {
        "test_season": test_season,
        "variant": variant,
        "seed": seed,
        "leagues": leagues,
        "demargin_method": demargin_method,
        "elo_baseline_feature": elo_col,
        "split": split.boundaries,
        "model": model.summary(),
        "overall": overall,
        "by_league": by_league,
        "entrant_matches": entrants,
        "paired": paired,
        "paired_by_league": paired_by_league,
        "reliability": reliability,
    }

    pred = test[["match_id", "league", "season", "date", "home_team", "away_team", "y"]].copy()
    for name, p in forecasts.items():
        for k, o in enumerate(("h", "d", "a")):
            pred[f"{name}_p_{o}"] = p[:, k]
    market_bt = None
    if markets:
        market_bt = _markets(model, split, matches_df, forecasts[MODEL], dixon_coles, report, pred)
    return Backtest(split=split, model=model, predictions=pred, report=_clean(report), markets=market_bt)


def _markets(model: TrainedModel, split: Split, matches_df: pd.DataFrame, p1x2: np.ndarray,
             dixon_coles: pd.DataFrame | None, report: dict, pred: pd.DataFrame) -> MarketBacktest:
    """Grids, market scores and the betting backtest; fills ``report`` and ``pred`` in place."""
    from soccer_assets.modeling import market_eval as ME
    from soccer_assets.modeling.goals.scoreline import model_grids
    from soccer_assets.modeling.markets import dixon_coles_grid, expected_goals

    test = ME.attach_prices(split.test, matches_df)
    fit = model_grids(model, split.test)
    baselines = {}
    if dixon_coles is not None:
        dc = split.test[["match_id"]].merge(
            dixon_coles[["match_id", "lam_home", "lam_away", "rho"]].drop_duplicates("match_id"),
            on="match_id", how="left")
        have = np.isfinite(dc[["lam_home", "lam_away", "rho"]].to_numpy(dtype=np.float64)).all(axis=1)
        grids = np.full_like(fit.grids, np.nan)
        if have.any():
            grids[have] = dixon_coles_grid(dc["lam_home"].to_numpy()[have], dc["lam_away"].to_numpy()[have],
                                           dc["rho"].to_numpy()[have])
        baselines["dixon_coles"] = grids
    report["markets"] = ME.market_report(test, fit.grids, p1x2, split.fit, baselines)
    if baselines:
        have = np.all(np.isfinite(baselines["dixon_coles"]), axis=(1, 2))
        report["markets"]["n_dixon_coles"] = int(have.sum())
    validation = ME.attach_prices(split.validation, matches_df)
    candidates = pd.concat([ME.betting_candidates(validation, model_grids(model, split.validation).grids),
                            ME.betting_candidates(test, fit.grids)], ignore_index=True)
    report["betting"], bets = ME.betting_report(candidates, split.test_season)
    xg = expected_goals(fit.grids)
    probs = ME.grid_markets(fit.grids, test["ah_line_open"].to_numpy(dtype=np.float64))
    pred["model_xg_home"], pred["model_xg_away"] = xg[:, 0], xg[:, 1]
    pred["model_rho"] = fit.rho
    pred["model_p_over25"], pred["model_p_btts"] = probs["over25"], probs["btts"]
    pred["model_p_ah_home"] = probs["ah_home"]
    pred["ah_line_open"] = test["ah_line_open"].to_numpy()
    return MarketBacktest(grids=fit.grids, candidates=candidates, bets=bets)


def evaluate(
    features_df: pd.DataFrame,
    matches_df: pd.DataFrame,
    test_season: str,
    variant: str = "ratings",
    seed: int = 0,
    **kwargs,
) -> dict:
    """JSON-ready evaluation report of ``variant`` on ``test_season`` (see :func:`run_backtest`)."""
    return run_backtest(features_df, matches_df, test_season, variant, seed, **kwargs).report


def reliability_plot_png(reliability: dict, title: str = "Reliability") -> bytes:
    """Render reliability data (``{forecaster: metrics.reliability_data(...)}``) as PNG bytes.

    One panel per outcome (H, D, A): observed frequency against mean forecast per bin, with the
    diagonal of perfect calibration; marker area follows the bin count. Writes no file.
    """
    # The object-oriented Figure renders through Agg without touching pyplot or the global
    # backend, so this is safe in servers and threads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.2), dpi=100)
    axes = fig.subplots(1, 3, sharey=True)
    names = {"H": "home win", "D": "draw", "A": "away win"}
    for ax, outcome in zip(axes, M.OUTCOME_LABELS, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect")
        for name, data in reliability.items():
            d = data[outcome]
            pts = [
                (mp, of, c)
                for mp, of, c in zip(d["mean_predicted"], d["observed_frequency"], d["count"], strict=True)
                if c > 0
            ]
            if not pts:
                continue
            xs, ys, cs = zip(*pts, strict=True)
            total = max(sum(cs), 1)
            line = ax.plot(xs, ys, marker="", lw=1.2, label=name)[0]
            ax.scatter(xs, ys, s=[10 + 600 * c / total for c in cs], color=line.get_color())
        ax.set_title(f"P({names[outcome]})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean forecast")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("observed frequency")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
