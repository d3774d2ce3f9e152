"""Walk-forward evaluation of every market priced from the score grids, and the betting backtest (pure).

Given the test rows of one season (features, score, 1X2 odds and the totals / Asian handicap prices
of :mod:`soccer_assets.features.market_prices`) and one score grid per row,
:func:`market_report` scores

* ``totals_2.5`` — P(over 2.5) of the model, the de-margined (multiplicative) *average* opening and
  closing prices, a weekly-refitted Dixon–Coles baseline and climatology, on the same rows: the
  played matches with both an opening and a closing average price;
* ``asian_handicap`` — P(home covers) at the published opening line (net of pushes; half results
  weigh 1/2, pushes 0) against the opening and closing average prices, on the rows whose closing
  line equals the opening one (the closing prices quote that line);
* ``btts`` and ``correct_score`` (0-0 … 6-6 and "other") against climatology (the training
  period's frequencies) and the Dixon–Coles baseline;
* ``grid_1x2_max_abs_diff`` — the largest gap between the grids' 1X2 and the classifier's.

:func:`betting_candidates` and :func:`betting_report` run the value-betting backtest of
:mod:`soccer_assets.modeling.betting` on three markets (``1x2``, ``totals_2.5``,
``asian_handicap``): a bet is decided on the model's probability and the *best opening* price
(football-data's market maximum, ``Max*`` / ``BbMx*``, what a bettor with accounts at several books
gets), settled at that price; its closing-line value compares it with the best closing price; the
edge threshold of the evaluated season is chosen on the validation
season's candidates (the season before it, out of sample for the trees); closing prices only score
(CLV). :func:`market_reliability_png` draws the two-way reliability diagrams.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.betting import CANDIDATE_COLUMNS, backtest
from soccer_assets.modeling.betting.selection import walk_forward_bets
from soccer_assets.modeling.markets import (
    asian_outcome,
    asian_outcomes,
    btts,
    correct_score,
    fair_probability,
    one_x_two,
    settle_1x2,
    settle_asian,
    settle_total,
    total_outcomes,
)

BETTING_MARKETS = ("1x2", "totals_2.5", "asian_handicap")
BINARY_MARKETS = ("totals_2.5", "asian_handicap", "btts")
STAKINGS = ("flat", "kelly")
# Best price across the books the source lists. At the average price (a 5-7 % margin) the `market`
# variant finds next to no positive edge and no Asian bet at all on 2023-24.
BOOK = "max"
PRICE_NOTE = {"max": "best opening (market maximum)", "avg": "average opening"}
_SUMMARY_KEYS = ("n_bets", "staked", "profit", "roi", "hit_rate", "max_drawdown", "clv_n", "clv_mean",
                 "clv_beat_rate")


def attach_prices(frame: pd.DataFrame, matches_df: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the totals and Asian handicap price columns of its matches (by ``match_id``)."""
    from soccer_assets.features.market_prices import asian_prices, totals_prices

    prices = pd.concat([matches_df[["match_id"]], totals_prices(matches_df), asian_prices(matches_df)],
                       axis=1).drop_duplicates("match_id")
    overlap = [c for c in prices.columns if c in frame.columns and c != "match_id"]
    return frame.drop(columns=overlap).merge(prices, on="match_id", how="left", validate="m:1")


def _goals(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    hg = pd.to_numeric(frame["fthg"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ag = pd.to_numeric(frame["ftag"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return hg, ag


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)


def asian_at_lines(grids: np.ndarray, lines: np.ndarray, side: str = "home") -> np.ndarray:
    """``(n, 5)`` outcome probabilities of each row's own Asian line (NaN rows where it is NaN)."""
    out = np.full((len(lines), 5), np.nan)
    ok = np.isfinite(lines)
    for line in np.unique(lines[ok]):
        rows = np.flatnonzero(lines == line)
        out[rows] = asian_outcomes(grids[rows], [line], side)[:, 0, :]
    return out


def grid_markets(grids: np.ndarray, ah_lines: np.ndarray) -> dict[str, np.ndarray]:
    """The probabilities the evaluation scores, per row: ``over25``, ``btts`` (yes), ``ah_home`` (at
    the row's line, net of pushes), ``correct_score`` (``(n, 50)``)."""
    _, cs = correct_score(grids)
    return {
        "over25": fair_probability(total_outcomes(grids, [2.5], "over"))[:, 0],
        "btts": btts(grids)[:, 0],
        "ah_home": fair_probability(asian_at_lines(grids, ah_lines)),
        "correct_score": cs,
    }


def correct_score_index(hg: np.ndarray, ag: np.ndarray, max_score: int = 6) -> np.ndarray:
    """Class of each score among :func:`markets.correct_score`'s labels (the last is "other")."""
    inside = (hg <= max_score) & (ag <= max_score)
    return np.where(inside, hg * (max_score + 1) + ag, (max_score + 1) ** 2).astype(np.int64)


def climatology(fit: pd.DataFrame) -> dict[str, np.ndarray]:
    """Training-period frequencies of over 2.5, BTTS and each correct-score class (add-one smoothed)."""
    hg, ag = _goals(fit)
    ok = np.isfinite(hg) & np.isfinite(ag)
    hg, ag = hg[ok], ag[ok]
    counts = np.bincount(correct_score_index(hg, ag), minlength=50).astype(np.float64) + 1.0
    n = len(hg)
    return {"over25": np.array((np.sum(hg + ag > 2.5) + 1.0) / (n + 2.0)),
            "btts": np.array((np.sum((hg > 0) & (ag > 0)) + 1.0) / (n + 2.0)),
            "correct_score": counts / counts.sum()}


def _cs_log_loss(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    if len(y) == 0:
        return {"n": 0}
    p = np.clip(probs[np.arange(len(y)), y], M.DEFAULT_EPS, 1.0)
    return {"n": len(y), "log_loss": float(-np.mean(np.log(p)))}


def market_report(test: pd.DataFrame, grids: np.ndarray, p1x2: np.ndarray, fit: pd.DataFrame,
                  baselines: Mapping[str, np.ndarray] | None = None) -> dict:
    """The ``markets`` object of the evaluation report (see the module docstring).

    ``test`` has the score, the price columns (:func:`attach_prices`) and one row per grid;
    ``baselines`` maps a name (``dixon_coles``) to grids aligned with ``test`` (NaN grids where the
    baseline has no forecast: those rows are left out of that baseline's score only).
    """
    hg, ag = _goals(test)
    played = np.isfinite(hg) & np.isfinite(ag)
    lines = _col(test, "ah_line_open")
    forecasts = {"model": grid_markets(grids, lines)}
    for name, g in (baselines or {}).items():
        forecasts[name] = grid_markets(np.nan_to_num(g, nan=0.0), lines)
        have = np.all(np.isfinite(g), axis=(1, 2))
        for v in forecasts[name].values():
            v[~have] = np.nan
    clim = climatology(fit)
    n = len(test)
    forecasts["climatology"] = {"over25": np.full(n, float(clim["over25"])),
                                "btts": np.full(n, float(clim["btts"])),
                                "correct_score": np.tile(clim["correct_score"], (n, 1))}
    out: dict = {}
    reliability: dict[str, dict] = {}

    def binary(market: str, key: str, y: np.ndarray, w: np.ndarray, rows: np.ndarray,
               market_cols: Mapping[str, str]) -> None:
        entry, rel = {}, {}
        sources = {name: f[key] for name, f in forecasts.items() if key in f}
        sources.update({name: _col(test, col) for name, col in market_cols.items()})
        for name, p in sources.items():
            ok = rows & np.isfinite(p)
            entry[name] = M.binary_scores(p[ok], y[ok], w[ok])
            if name in ("model", "market_open") and ok.any():
                rel[name] = M.binary_reliability(p[ok], y[ok], w[ok])
        out[market] = entry
        reliability[market] = rel

    total = hg + ag
    both = _col(test, "p_over25_avg_open"), _col(test, "p_over25_avg_close")
    rows = played & np.isfinite(both[0]) & np.isfinite(both[1])
    y_tot = np.where(played, total > 2.5, 0).astype(np.float64)
    binary("totals_2.5", "over25", y_tot, np.ones(n), rows,
           {"market_open": "p_over25_avg_open", "market_close": "p_over25_avg_close"})

    close_line = _col(test, "ah_line_close")
    ah_rows = (played & np.isfinite(lines) & (close_line == lines)
               & np.isfinite(_col(test, "p_ahh_avg_open")) & np.isfinite(_col(test, "p_ahh_avg_close")))
    y_ah, w_ah = np.zeros(n), np.zeros(n)
    if ah_rows.any():
        y_ah[ah_rows], w_ah[ah_rows] = asian_outcome((hg - ag)[ah_rows], lines[ah_rows])
    binary("asian_handicap", "ah_home", y_ah, w_ah, ah_rows,
           {"market_open": "p_ahh_avg_open", "market_close": "p_ahh_avg_close"})

    y_btts = np.where(played, (hg > 0) & (ag > 0), 0).astype(np.float64)
    binary("btts", "btts", y_btts, np.ones(n), played, {})

    cls = correct_score_index(np.nan_to_num(hg), np.nan_to_num(ag))
    out["correct_score"] = {}
    for name, f in forecasts.items():
        ok = played & np.all(np.isfinite(f["correct_score"]), axis=1)
        out["correct_score"][name] = _cs_log_loss(f["correct_score"][ok], cls[ok])
    out["grid_1x2_max_abs_diff"] = float(np.max(np.abs(one_x_two(grids) - p1x2))) if n else 0.0
    y = M.outcome_index(test["ftr"]) if "ftr" in test else None
    if y is not None and baselines:
        out["one_x_two"] = {}
        for name, g in baselines.items():
            ok = np.all(np.isfinite(g), axis=(1, 2)) & played
            out["one_x_two"][name] = M.score_all(one_x_two(g[ok]), y[ok]) if ok.any() else {"n": 0}
    out["reliability"] = reliability
    return out


# -- betting ----------------------------------------------------------------------------------------


def betting_candidates(frame: pd.DataFrame, grids: np.ndarray, book: str = BOOK) -> pd.DataFrame:
    """One row per (match, market, selection) of :data:`BETTING_MARKETS` with
    :data:`~soccer_assets.modeling.betting.CANDIDATE_COLUMNS`, at the prices of ``book``
    (``max``: best across books, ``avg``: market average).

    ``price_open`` is the opening price (decided on and settled at), ``price_close`` the closing
    price of the same bet (NaN for an Asian bet whose closing line moved).
    """
    hg, ag = _goals(frame)
    ids = frame[["match_id", "league", "season", "kickoff"]].reset_index(drop=True)
    parts = []

    def add(market: str, selection: str, p: np.ndarray, o: np.ndarray, c: np.ndarray,
            ppu: np.ndarray) -> None:
        part = ids.copy()
        part["market"], part["selection"] = market, selection
        part["p_model"], part["price_open"], part["price_close"] = p, o, c
        part["profit_per_unit"] = ppu
        parts.append(part)

    p1 = one_x_two(grids)
    played = np.isfinite(hg) & np.isfinite(ag)
    ftr = np.where(hg > ag, "H", np.where(hg == ag, "D", "A"))
    for k, (sel, code) in enumerate((("home", "h"), ("draw", "d"), ("away", "a"))):
        o, c = _col(frame, f"odds_{book}_open_{code}"), _col(frame, f"odds_{book}_close_{code}")
        ppu = _settled(played & (o > 1), lambda m, o=o, code=code: settle_1x2(
            ftr[m], np.full(m.sum(), code.upper()), o[m]), len(o))
        add("1x2", sel, p1[:, k], o, c, ppu)
    over = fair_probability(total_outcomes(grids, [2.5], "over"))[:, 0]
    for sel, p in (("over", over), ("under", 1.0 - over)):
        o, c = _col(frame, f"{sel}25_{book}_open"), _col(frame, f"{sel}25_{book}_close")
        ppu = _settled(played & (o > 1), lambda m, o=o, sel=sel: settle_total(
            (hg + ag)[m], 2.5, np.full(m.sum(), sel), o[m]), len(o))
        add("totals_2.5", sel, p, o, c, ppu)
    lines, close_line = _col(frame, "ah_line_open"), _col(frame, "ah_line_close")
    for sel, col in (("home", "ahh"), ("away", "aha")):
        p = fair_probability(asian_at_lines(grids, lines, sel))
        o, c = _col(frame, f"{col}_{book}_open"), _col(frame, f"{col}_{book}_close")
        c = np.where(close_line == lines, c, np.nan)
        ppu = _settled(played & (o > 1) & np.isfinite(lines), lambda m, o=o, sel=sel: settle_asian(
            (hg - ag)[m], lines[m], np.full(m.sum(), sel), o[m]), len(o))
        add("asian_handicap", sel, p, o, c, ppu)
    out = pd.concat(parts, ignore_index=True)
    return out[CANDIDATE_COLUMNS]


def _settled(mask: np.ndarray, settle, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if mask.any():
        out[mask] = settle(mask)
    return out


def _plain(value):
    """Numbers as Python floats/ints, NaN as None (the report is JSON)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _summary(report, market: str, league: str | None = None) -> dict:
    table = report.table
    if league is None:
        row = table[(table["level"] == "market") & (table["market"] == market)]
    else:
        row = table[(table["level"] == "market_league_season") & (table["market"] == market)
                    & (table["league"] == league)]
    if row.empty:
        row = {k: 0 for k in ("n_bets", "staked", "profit", "max_drawdown", "clv_n")}
        out = {**row, **dict.fromkeys(("roi", "hit_rate", "clv_mean", "clv_beat_rate"), None),
               "roi_ci95": [None, None]}
        return out
    r = row.iloc[0].to_dict()
    out = {k: _plain(r[k]) for k in _SUMMARY_KEYS}
    out["roi_ci95"] = _plain([r["roi_ci95_lo"], r["roi_ci95_hi"]])
    return out


def betting_report(candidates: pd.DataFrame, test_season: str) -> tuple[dict, dict]:
    """The ``betting`` object of the report and the backtests (``{staking: BacktestReport}``).

    ``candidates`` holds the evaluated season and earlier seasons; each season's threshold per market
    comes from the earlier seasons only (``walk_forward_bets``), and only ``test_season``'s bets are
    staked and reported. Flat stakes are the headline figures; ``kelly`` (quarter Kelly, capped at
    5 % of the bankroll) repeats them.
    """
    bets = walk_forward_bets(candidates)
    bets = bets[bets["season"].astype(str) == test_season]
    reports = {s: backtest(bets, s) for s in STAKINGS}
    thresholds = (bets.groupby("market")["threshold"].first().to_dict() if len(bets) else {})
    out: dict = {}
    for market in BETTING_MARKETS:
        entry = _summary(reports["flat"], market)
        entry["staking"] = "flat"
        entry["threshold"] = _plain(thresholds.get(market))
        entry["price"] = PRICE_NOTE[BOOK]
        entry["kelly"] = _summary(reports["kelly"], market)
        leagues = sorted(set(bets.loc[bets["market"] == market, "league"].astype(str)))
        entry["by_league"] = {lg: _summary(reports["flat"], market, lg) for lg in leagues}
        out[market] = entry
    return out, reports


def market_reliability_png(reliability: Mapping[str, Mapping[str, dict]], title: str) -> bytes:
    """Reliability diagrams of the two-way markets (one panel each) as PNG bytes; writes no file."""
    from matplotlib.figure import Figure

    markets = [m for m in BINARY_MARKETS if reliability.get(m)]
    fig = Figure(figsize=(4.2 * max(len(markets), 1), 4.2), dpi=100)
    axes = np.atleast_1d(fig.subplots(1, max(len(markets), 1)))
    for ax, market in zip(axes, markets, strict=False):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for name, d in reliability[market].items():
            pts = [(x, y) for x, y, c in zip(d["mean_predicted"], d["observed_frequency"], d["count"],
                                             strict=True) if c > 0]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker="o", ms=3, lw=1.2, label=name)
        ax.set_title(market)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean forecast")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("observed frequency")
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
