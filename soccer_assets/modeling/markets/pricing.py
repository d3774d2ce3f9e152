"""Every market of a match as plain records, and the value of an offered price (pure).

Why: the API, the job worker and the board show the same prices, so the translation of a score
grid into selections lives once, here. :func:`price_markets` turns grids into, per match, a dict
``market -> [selection record]``; :func:`offer_value` adds the edge and the Kelly stake of a price
someone offers for one of those selections.

A selection record has ``selection``, ``probability`` and ``fair_price`` (``1 / probability``);
line markets (``totals``, ``asian_handicap``) also have ``line`` and ``outcomes`` (the
probabilities of win / half_win / push / half_loss / loss), and their ``probability`` is the
two-way probability net of pushes (:func:`.lines.fair_probability`). ``expected_goals`` records
carry ``value`` (goals) instead of a probability.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from soccer_assets.modeling.markets.lines import (
    ASIAN_LINES,
    OUTCOMES,
    TOTAL_LINES,
    asian_outcomes,
    fair_probability,
    total_outcomes,
)
from soccer_assets.modeling.markets.selections import (
    BTTS_LABELS,
    DOUBLE_CHANCE_LABELS,
    DRAW_NO_BET_LABELS,
    ONE_X_TWO_LABELS,
    btts,
    correct_score,
    double_chance,
    draw_no_bet,
    expected_goals,
    one_x_two,
)

MARKETS: tuple[str, ...] = ("1x2", "double_chance", "draw_no_bet", "btts", "totals",
                            "asian_handicap", "correct_score", "expected_goals")
DEFAULT_MARKETS: tuple[str, ...] = ("1x2",)
LINE_MARKETS = ("totals", "asian_handicap")


def check_markets(markets: Sequence[str]) -> list[str]:
    """The requested market names, de-duplicated in order; ``ValueError`` for an unknown one."""
    out = list(dict.fromkeys(markets))
    unknown = [m for m in out if m not in MARKETS]
    if unknown:
        raise ValueError(f"unknown market(s) {unknown}; choose from {list(MARKETS)}")
    return out


def _simple(labels: Sequence[str], probs: np.ndarray) -> list[list[dict[str, Any]]]:
    return [
        [{"selection": lab, "probability": float(p), "fair_price": _fair(p)}
         for lab, p in zip(labels, row, strict=True)]
        for row in probs
    ]


def _fair(p: float) -> float | None:
    return 1.0 / float(p) if p > 0 else None


def _lines(outcomes: dict[str, np.ndarray], lines: np.ndarray) -> list[list[dict[str, Any]]]:
    rows = []
    n = next(iter(outcomes.values())).shape[0]
    probs = {side: fair_probability(o) for side, o in outcomes.items()}
    for i in range(n):
        row = []
        for j, line in enumerate(lines):
            for side, o in outcomes.items():
                p = float(probs[side][i, j])
                row.append({
                    "selection": side,
                    "line": float(line),
                    "probability": p if math.isfinite(p) else None,
                    "fair_price": _fair(p) if math.isfinite(p) else None,
                    "outcomes": dict(zip(OUTCOMES, (float(x) for x in o[i, j]), strict=True)),
                })
        rows.append(row)
    return rows


def price_markets(grids: np.ndarray, markets: Sequence[str] = DEFAULT_MARKETS,
                  total_lines: np.ndarray = TOTAL_LINES,
                  asian_lines: np.ndarray = ASIAN_LINES) -> list[dict[str, list[dict[str, Any]]]]:
    """Per match of ``grids`` (``(n, G+1, G+1)``), ``{market: [selection record, ...]}`` for each of
    ``markets`` (:data:`MARKETS`), in the order requested."""
    wanted = check_markets(markets)
    g = np.asarray(grids, dtype=np.float64)
    n = g.shape[0]
    per_market: dict[str, list[list[dict[str, Any]]]] = {}
    for market in wanted:
        if market == "1x2":
            per_market[market] = _simple(ONE_X_TWO_LABELS, one_x_two(g))
        elif market == "double_chance":
            per_market[market] = _simple(DOUBLE_CHANCE_LABELS, double_chance(g))
        elif market == "draw_no_bet":
            per_market[market] = _simple(DRAW_NO_BET_LABELS, draw_no_bet(g))
        elif market == "btts":
            per_market[market] = _simple(BTTS_LABELS, btts(g))
        elif market == "correct_score":
            labels, probs = correct_score(g)
            per_market[market] = _simple(labels, probs)
        elif market == "totals":
            per_market[market] = _lines({"over": total_outcomes(g, total_lines, "over"),
                                         "under": total_outcomes(g, total_lines, "under")}, total_lines)
        elif market == "asian_handicap":
            per_market[market] = _lines({"home": asian_outcomes(g, asian_lines, "home"),
                                         "away": asian_outcomes(g, asian_lines, "away")}, asian_lines)
        else:  # expected_goals
            per_market[market] = [[{"selection": side, "value": float(v)} for side, v in zip(
                ("home", "away"), row, strict=True)] for row in expected_goals(g)]
    return [{m: per_market[m][i] for m in wanted} for i in range(n)]


def find_selection(priced: Mapping[str, list[dict[str, Any]]], market: str, selection: str,
                   line: float | None = None) -> dict[str, Any]:
    """The record of one selection among :func:`price_markets`' output for one match.

    ``KeyError`` with a clear message when the market was not priced or has no such selection.
    """
    if market not in priced:
        raise KeyError(f"market {market!r} was not priced (priced: {list(priced)})")
    for rec in priced[market]:
        if rec["selection"] != selection:
            continue
        if market in LINE_MARKETS and (line is None or not math.isclose(rec["line"], line)):
            continue
        return rec
    where = f" at line {line}" if market in LINE_MARKETS else ""
    raise KeyError(f"market {market!r} has no selection {selection!r}{where}")


def offer_value(record: Mapping[str, Any], price: float) -> dict[str, float | None]:
    """Edge and Kelly stake of betting ``record`` at decimal ``price`` (> 1).

    ``edge`` is the expected profit per unit stake (for line markets from the five outcomes, so
    pushes and half results count as they settle); ``kelly`` is the full-Kelly share of the
    bankroll, ``edge / ((price − 1)(1 − P(push)))`` floored at 0 — exact for bets that win, push or
    lose, an approximation for quarter lines (half results). ``ValueError`` for a price <= 1.
    """
    o = float(price)
    if not math.isfinite(o) or o <= 1.0:
        raise ValueError(f"an offered price must be a decimal price above 1, got {price!r}")
    if "outcomes" in record:
        out = record["outcomes"]
        win = out["win"] + out["half_win"] / 2
        edge = win * (o - 1.0) - out["half_loss"] / 2 - out["loss"]
        push = out["push"]
    else:
        p = record.get("probability")
        if p is None:
            raise ValueError(f"selection {record.get('selection')!r} has no probability to price")
        edge = float(p) * o - 1.0
        push = 0.0
    kelly = max(0.0, edge / ((o - 1.0) * (1.0 - push))) if push < 1.0 else 0.0
    return {"price": o, "edge": float(edge), "kelly": float(kelly)}
