"""Live closing-line value (CLV) of the served predictions' value picks (pure pandas/numpy).

Why: live RPS says whether the forecasts stay calibrated, not whether they find prices worth
betting; a positive ROI takes thousands of bets to tell from luck, while beating the closing price
(the market's last, best-informed estimate) is a lower-variance sign of real edge. Offline, the
betting backtest reports it (:mod:`soccer_assets.modeling.betting.report`); this is the same figure
on what the API actually served.

**Decision** (made on what was known before kick-off; closing prices are never read):

* opening prices of a scored prediction: the three odds sent with the request
  (``prediction_log.odds_home/draw/away``) when all three are valid (finite, > 1); else the
  warehouse's best opening price ``odds_max_open_*`` (the market of the offline backtest,
  ``modeling.market_eval.BOOK``), else the average ``odds_avg_open_*``; always a complete triplet of
  one source, so the edges compare like with like;
* value pick: the selection (H/D/A) with the largest edge ``p_model * price_open - 1``
  (``betting.edge``), kept only if that edge is above ``min_edge`` (0); ties go to H, then D, then A;
* favourite (context, ``pick="favourite"``): the selection with the lowest opening price, whatever
  the model says. Its CLV is how the closing line moves on these matches anyway, the yardstick the
  value picks' CLV is read against.

**Scoring** (per pick with a valid closing price of the same book, ``clv_bets`` of them):
``clv = log(price_open / price_close)``; ``clv_mean`` its mean and ``clv_beat_rate`` the share with
``price_open > price_close``, the definitions of ``betting.report.summarize``. A warehouse price is
closed by the same book's closing price (``odds_max_close_*`` or ``odds_avg_close_*``, no fallback: a
different book's close would measure the gap between books). A price the client sent comes from a
book the log does not name: it is closed by Pinnacle's closing price (the sharpest close, the usual
CLV yardstick), else the average closing price. Zero bets give NaN mean and beat rate, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from soccer_assets.core.schema import OUTCOMES, odds_triplet
from soccer_assets.modeling.betting.candidates import edge
from soccer_assets.monitoring.live import MODEL_KEYS, PROB_COLUMNS

REQUEST_COLUMNS = ["odds_home", "odds_draw", "odds_away"]
REQUEST = "request"
OPEN_BOOKS = ("max", "avg")  # warehouse opening price, in order of preference
REQUEST_CLOSE_BOOKS = ("ps", "avg")  # closing price of a price the client sent
PICKS = ("value", "favourite")
GROUP_KEYS = [*MODEL_KEYS, "league"]
ALL_LEAGUES = "ALL"  # the league label of a version's row over every league (as soccer_live_rps)
PICK_COLUMNS = ["id", "match_id", *GROUP_KEYS, "season", "date", "pick", "selection", "p_model",
                "price_open", "price_source", "edge", "price_close", "close_book", "clv"]
CLV_COLUMNS = ["clv_bets", "clv_mean", "clv_beat_rate"]
TABLE_COLUMNS = ["pick", *GROUP_KEYS, "scored", "priced", "picks", *CLV_COLUMNS, "mean_edge"]


def _valid(prices: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(prices) & (prices > 1.0)


def _prices(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``frame[columns]`` as floats; a column the frame lacks is all NaN (an old warehouse)."""
    out = np.full((len(frame), len(columns)), np.nan)
    for k, c in enumerate(columns):
        if c in frame.columns:
            out[:, k] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
    return out


def opening_prices(request: np.ndarray, books: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 3)`` opening prices and ``(n,)`` their source (``"request"``, a book, ``""`` = none):
    the request's triplet when complete, else the first complete triplet of ``books`` (in order)."""
    prices = np.full(request.shape, np.nan)
    source = np.full(len(request), "", dtype=object)
    for name, arr in ((REQUEST, request), *books.items()):
        ok = np.all(_valid(arr), axis=1) & (source == "")
        prices[ok] = arr[ok]
        source[ok] = name
    return prices, source


def choose_value(probs: np.ndarray, prices_open: np.ndarray, min_edge: float = 0.0) -> np.ndarray:
    """Index (0/1/2) of each row's value pick, -1 where no selection's edge is above ``min_edge``."""
    e = edge(probs, prices_open)
    has = np.any(np.isfinite(e), axis=1)
    best = np.argmax(np.where(np.isfinite(e), e, -np.inf), axis=1)  # first of equal edges
    best_edge = e[np.arange(len(e)), best]
    with np.errstate(invalid="ignore"):
        return np.where(has & (best_edge > min_edge), best, -1)


def choose_favourite(prices_open: np.ndarray) -> np.ndarray:
    """Index of each row's lowest opening price, -1 without a complete valid triplet."""
    ok = np.all(_valid(prices_open), axis=1)
    best = np.argmin(np.where(ok[:, None], prices_open, np.inf), axis=1)
    return np.where(ok, best, -1)


def closing_price(source: np.ndarray, pick: np.ndarray,
                  closes: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` closing price of each row's pick and the book it came from (NaN / ``""`` if none)."""
    n = len(pick)
    rows, col = np.arange(n), np.clip(pick, 0, None)
    price = np.full(n, np.nan)
    book = np.full(n, "", dtype=object)
    # The loop order is the request's preference, so a request row takes its first valid close.
    for b in dict.fromkeys([*REQUEST_CLOSE_BOOKS, *OPEN_BOOKS]):
        p = closes[b][rows, col]
        same = (source == b) | ((source == REQUEST) & (b in REQUEST_CLOSE_BOOKS))
        ok = (pick >= 0) & (book == "") & same & _valid(p)
        price[ok] = p[ok]
        book[ok] = b
    return price, book


def clv_summary(price_open: object, price_close: object) -> dict[str, float]:
    """``clv_bets``, ``clv_mean``, ``clv_beat_rate`` over the pairs with both prices valid."""
    o = np.asarray(price_open, dtype=np.float64)
    c = np.asarray(price_close, dtype=np.float64)
    ok = _valid(o) & _valid(c)
    if not ok.any():
        return {"clv_bets": 0, "clv_mean": float("nan"), "clv_beat_rate": float("nan")}
    return {"clv_bets": int(ok.sum()), "clv_mean": float(np.mean(np.log(o[ok] / c[ok]))),
            "clv_beat_rate": float(np.mean(o[ok] > c[ok]))}


def value_picks(scored: pd.DataFrame, log: pd.DataFrame, matches: pd.DataFrame, *,
                min_edge: float = 0.0) -> pd.DataFrame:
    """One row per pick (:data:`PICK_COLUMNS`) of every scored prediction: its value pick (if any)
    and its favourite (if priced), with the closing price and CLV where the warehouse has it.

    ``scored``: :func:`live.join_outcomes` rows (``id`` is the log id); ``log``: the prediction log
    (``id`` and :data:`REQUEST_COLUMNS`, missing odds = NaN); ``matches``: the match table's ``odds_*``.
    """
    if scored.empty:
        return pd.DataFrame(columns=PICK_COLUMNS)
    req_cols = [c for c in REQUEST_COLUMNS if c in log.columns]
    req = scored[["id"]].merge(log[["id", *req_cols]], on="id", how="left", validate="many_to_one")
    odds_cols = [c for c in matches.columns if c.startswith("odds_")]
    odds = scored[["match_id"]].merge(matches[["match_id", *odds_cols]], on="match_id", how="left",
                                      validate="many_to_one")
    probs = scored[PROB_COLUMNS].to_numpy(dtype=np.float64)
    prices, source = opening_prices(_prices(req, REQUEST_COLUMNS),
                                    {b: _prices(odds, odds_triplet(b, "open")) for b in OPEN_BOOKS})
    # The choices below see only probabilities and opening prices; closes enter at closing_price.
    closes = {b: _prices(odds, odds_triplet(b, "close")) for b in {*OPEN_BOOKS, *REQUEST_CLOSE_BOOKS}}
    edges = edge(probs, prices)
    rows = np.arange(len(scored))
    base = scored[["id", "match_id", *GROUP_KEYS, "season", "date"]].reset_index(drop=True)
    parts = []
    chosen = {"value": choose_value(probs, prices, min_edge), "favourite": choose_favourite(prices)}
    for kind, pick in chosen.items():
        col = np.clip(pick, 0, None)
        close, book = closing_price(source, pick, closes)
        part = base.assign(pick=kind, selection=np.array(OUTCOMES)[col], p_model=probs[rows, col],
                           price_open=prices[rows, col], price_source=source, edge=edges[rows, col],
                           price_close=close, close_book=book)
        with np.errstate(invalid="ignore", divide="ignore"):
            part["clv"] = np.where(_valid(close), np.log(part["price_open"] / close), np.nan)
        parts.append(part[pick >= 0])
    out = pd.concat(parts, ignore_index=True)[PICK_COLUMNS]
    return out.sort_values(["pick", "date", "id"], kind="stable").reset_index(drop=True)


def _group_row(pick: str, key: dict[str, str], scored: int, picks: pd.DataFrame, priced: int) -> dict:
    summary = clv_summary(picks["price_open"], picks["price_close"])
    mean_edge = float(picks["edge"].mean()) if len(picks) else float("nan")
    return {"pick": pick, **key, "scored": scored, "priced": priced, "picks": len(picks), **summary,
            "mean_edge": mean_edge}


def clv_table(scored: pd.DataFrame, picks: pd.DataFrame) -> pd.DataFrame:
    """:data:`TABLE_COLUMNS` per pick kind × model version × league, and per pick kind × version over
    every league (``league="ALL"``); a group that was scored but has no pick has 0 bets and NaN CLV.

    ``scored`` supplies the groups, ``picks`` is :func:`value_picks`' output.
    """
    if scored.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    scored, picks = (f[GROUP_KEYS].astype(str).join(f.drop(columns=GROUP_KEYS)) for f in (scored, picks))
    rows = []
    for s, p in ((scored, picks), (scored.assign(league=ALL_LEAGUES), picks.assign(league=ALL_LEAGUES))):
        # Every priced prediction has a favourite: their count is the number priced.
        priced = p[p["pick"] == "favourite"].groupby(GROUP_KEYS).size()
        for kind in PICKS:
            mine = dict(tuple(p[p["pick"] == kind].groupby(GROUP_KEYS)))
            for key, n in s.groupby(GROUP_KEYS, sort=True).size().items():
                rows.append(_group_row(kind, dict(zip(GROUP_KEYS, key, strict=True)), int(n),
                                       mine.get(key, p.iloc[:0]), int(priced.get(key, 0))))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS).sort_values(["pick", *GROUP_KEYS], kind="stable")
    return table.reset_index(drop=True).astype(
        {"scored": "int64", "priced": "int64", "picks": "int64", "clv_bets": "int64"})


def with_clv(by_version_league: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The per version × league scores with the value picks' :data:`CLV_COLUMNS` alongside."""
    if by_version_league.empty or table.empty:
        return by_version_league
    value = table[(table["pick"] == "value") & (table["league"] != ALL_LEAGUES)]
    left = by_version_league.assign(model_version=by_version_league["model_version"].astype(str),
                                    league=by_version_league["league"].astype(str))
    return left.merge(value[[*GROUP_KEYS, *CLV_COLUMNS]], on=GROUP_KEYS, how="left")


def summary_by_version(table: pd.DataFrame, pick: str = "value") -> dict[str, dict[str, float | None]]:
    """``{"<model> v<version>": {clv_bets, clv_mean, clv_beat_rate}}`` over every league (NaN as
    None: the metadata is JSON)."""
    rows = table[(table["pick"] == pick) & (table["league"] == ALL_LEAGUES)] if len(table) else table
    out: dict[str, dict[str, float | None]] = {}
    for r in rows.to_dict("records"):
        out[f"{r['model_name']} v{r['model_version']}"] = {
            c: (None if pd.isna(r[c]) else float(r[c])) for c in CLV_COLUMNS}
    return out
