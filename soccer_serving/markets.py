"""Markets and offered prices of served predictions: requests checked up front, records priced
after the model ran (the pricing itself is :mod:`soccer_assets.modeling.markets.pricing`).

Why a separate module: the checks run while the request body is validated (a bad selection is a
422 before anything is predicted, logged or queued), the pricing runs in the predictor for a whole
group of matches at once (one score-grid fit per batch), and the prediction log keeps a compact
copy. All three must agree on what a selection is, so they share :func:`selection_catalogue`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from soccer_assets.modeling.markets.pricing import (
    DEFAULT_MARKETS,
    LINE_MARKETS,
    MARKETS,
    check_markets,
    find_selection,
    offer_value,
    price_markets,
)
from soccer_assets.modeling.markets.selections import ONE_X_TWO_LABELS

# Goal expectations, not bets: nothing to offer a price on.
UNPRICEABLE_MARKETS = ("expected_goals",)


@dataclass(frozen=True)
class PriceQuery:
    """An offered decimal price for one selection (``line`` only for line markets)."""

    market: str
    selection: str
    line: float | None
    price: float


@functools.cache
def selection_catalogue() -> Mapping[str, list[dict[str, Any]]]:
    """Every market's selections as :func:`price_markets` names them (one neutral grid priced).

    Selections and lines do not depend on the match, so pricing any grid lists them; doing it
    through the pricing code keeps the request check in step with what the response will hold.
    """
    grid = np.full((1, 11, 11), 1.0 / 121.0)
    return price_markets(grid, MARKETS)[0]


def check_price(market: str, selection: str, line: float | None) -> None:
    """``ValueError`` (with the reason) unless the selection exists and can take a price."""
    if market not in MARKETS:
        raise ValueError(f"unknown market {market!r}; choose from {list(MARKETS)}")
    if market in UNPRICEABLE_MARKETS:
        raise ValueError(f"{market!r} is a goal expectation, not a bet: it takes no price")
    if market in LINE_MARKETS:
        if line is None:
            raise ValueError(f"a price for {market!r} needs its line (e.g. 2.5 for totals, -0.5 for "
                             "asian_handicap)")
    elif line is not None:
        raise ValueError(f"{market!r} has no lines; 'line' only goes with {list(LINE_MARKETS)}")
    try:
        find_selection(selection_catalogue(), market, selection, line)
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]}; valid: {_valid_selections(market)}") from None


def _valid_selections(market: str) -> str:
    recs = selection_catalogue()[market]
    names = list(dict.fromkeys(r["selection"] for r in recs))
    if market not in LINE_MARKETS:
        return ", ".join(names)
    lines = sorted({r["line"] for r in recs})
    return f"{', '.join(names)} at lines {lines[0]:g} to {lines[-1]:g} in steps of 0.25"


def requested_markets(markets: Sequence[str] | None, prices: Sequence[PriceQuery]) -> tuple[str, ...] | None:
    """The markets to price for a request, or None when it asked for none (today's answer).

    A price for a market that was not listed adds that market: the offer needs its records.
    """
    if markets is None and not prices:
        return None
    return tuple(check_markets([*(markets or DEFAULT_MARKETS), *(p.market for p in prices)]))


def needs_grid(markets: Sequence[str] | None) -> bool:
    """True when something beyond 1X2 is asked for (1X2 alone comes from the classifier)."""
    return markets is not None and any(m != "1x2" for m in markets)


def has_goal_model(trained: Any) -> bool:
    return trained is not None and getattr(trained, "goals", None) is not None


def grid_markets(trained: Any, rows: Sequence[Mapping[str, float]], columns: Sequence[str],
                 markets: Sequence[Sequence[str]]) -> list[dict[str, list[dict[str, Any]]]]:
    """Per row, its markets priced off the model's score grid; one grid fit for all rows.

    ``rows`` are the same feature dicts the 1X2 prediction used, so the grid's 1X2 is the answer's.
    """
    from soccer_assets.modeling.goals.scoreline import model_grids

    frame = pd.DataFrame(list(rows), columns=list(columns))
    grids = model_grids(trained, frame).grids
    wanted = check_markets([m for ms in markets for m in ms])
    priced = price_markets(grids, wanted)
    return [{m: _finite(p[m]) for m in ms} for p, ms in zip(priced, markets, strict=True)]


def one_x_two_market(probabilities: Sequence[float]) -> dict[str, list[dict[str, Any]]]:
    """The ``1x2`` market from the classifier's probabilities, in :func:`price_markets`' records."""
    return {"1x2": [{"selection": lab, "probability": float(p), "fair_price": 1.0 / p if p > 0 else None}
                    for lab, p in zip(ONE_X_TWO_LABELS, probabilities, strict=True)]}


def offers(priced: Mapping[str, list[dict[str, Any]]], prices: Sequence[PriceQuery]) -> list[dict[str, Any]]:
    """Edge and Kelly stake of each offered price against the priced selections.

    ``KeyError``/``ValueError`` only if a checked request meets records without the selection or
    its probability (the caller answers it as an invalid request).
    """
    out = []
    for p in prices:
        rec = find_selection(priced, p.market, p.selection, p.line)
        value = offer_value(rec, p.price)
        out.append({"market": p.market, "selection": p.selection,
                    "line": float(rec["line"]) if "line" in rec else None, "price": value["price"],
                    "probability": rec.get("probability"), "edge": value["edge"],
                    "kelly": value["kelly"]})
    return _finite(out)


def compact(priced: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The prediction log's copy: ``{market: {selection: p}}``, line markets
    ``{market: {selection: {line: p}}}`` (probability net of pushes), expected goals their values.

    Fair prices and the five settlement outcomes are left out: they follow from the probabilities
    (and the logged model version) and would make every row twenty times larger.
    """
    out: dict[str, Any] = {}
    for market, recs in priced.items():
        if market in LINE_MARKETS:
            sides: dict[str, dict[str, float | None]] = {}
            for r in recs:
                sides.setdefault(r["selection"], {})[str(float(r["line"]))] = r.get("probability")
            out[market] = sides
        else:
            key = "value" if market in UNPRICEABLE_MARKETS else "probability"
            out[market] = {r["selection"]: r.get(key) for r in recs}
    return out


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity (PostgreSQL and the response encoder refuse them): null instead.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
