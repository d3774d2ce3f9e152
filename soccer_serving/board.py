"""The match board's data: stored fixtures → prediction requests → rows a template can show.

The predictions go through :meth:`ServingState.predict_async`, the path of ``POST /v1/predict``:
each fixture becomes the request body a client would send for it (:func:`fixture_requests`: teams,
date, opening 1X2 and over/under odds), validated by the API's own ``MatchRequest`` and turned into a
query by its ``match_query``; so the board's probabilities are ``/v1/predict``'s for that body, to
the last bit. On top of the body, the board asks for the markets it shows and offers the fixture's
best prices (the ``Max*`` columns of ``fixtures.csv``), so the edge and Kelly stake are the API's
``offers`` too. A served model without a goal model prices 1X2 only: those rows show 1X2 alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from soccer_assets.features.market_prices import asian_prices, totals_prices
from soccer_serving import markets as mk
from soccer_serving.fixtures import fixture_requests
from soccer_serving.predictor import MatchQuery, Prediction, PredictionError, match_query
from soccer_serving.schemas import MatchRequest

BOARD_MARKETS = ("1x2", "totals", "btts", "asian_handicap", "correct_score")
OUTCOME_KEYS = ("home", "draw", "away")
TOTALS_LINE = 2.5
HEAT_GOALS = 6  # correct-score heat map: 0..5 goals a side


@dataclass
class BoardRow:
    """One fixture on the board: the request sent, and the prediction or why there is none."""

    fixture: dict[str, Any]
    request: dict[str, Any]
    prediction: Prediction | None = None
    error: str | None = None
    best: dict[str, float | None] = field(default_factory=dict)
    offers: dict[tuple[str, str, float | None], dict[str, Any]] = field(default_factory=dict)

    @property
    def probabilities(self) -> tuple[float, float, float] | None:
        p = self.prediction
        return None if p is None else (p.p_home, p.p_draw, p.p_away)

    def market(self, name: str) -> list[dict[str, Any]]:
        p = self.prediction
        return list((p.markets or {}).get(name, [])) if p is not None else []

    def offer(self, market: str, selection: str, line: float | None = None) -> dict[str, Any] | None:
        return self.offers.get((market, selection, line))

    def selection(self, market: str, selection: str, line: float | None = None) -> dict[str, Any] | None:
        for r in self.market(market):
            if r["selection"] == selection and (line is None or math.isclose(r.get("line", 0.0), line)):
                return r
        return None

    def heat_map(self) -> list[list[float]] | None:
        """``[home goals][away goals]`` probabilities of the correct-score market (0..5 each)."""
        recs = {r["selection"]: r.get("probability") for r in self.market("correct_score")}
        if not recs:
            return None
        return [[float(recs.get(f"{h}-{a}") or 0.0) for a in range(HEAT_GOALS)] for h in range(HEAT_GOALS)]


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and v > 1.0 else None


def best_prices(fixtures: pd.DataFrame) -> list[dict[str, float | None]]:
    """Per fixture, the market's best opening prices: 1X2 (``odds_max_open_*``), over/under 2.5
    (``Max>2.5``/``Max<2.5``) and the Asian handicap at the quoted line (``AHh``, ``MaxAHH/A``)."""
    if fixtures.empty:
        return []
    tot, ah = totals_prices(fixtures), asian_prices(fixtures)
    out = []
    for k in range(len(fixtures)):
        r = fixtures.iloc[k]
        line = ah["ah_line_open"].iloc[k]
        out.append({
            "home": _finite(r.get("odds_max_open_h")), "draw": _finite(r.get("odds_max_open_d")),
            "away": _finite(r.get("odds_max_open_a")),
            "over": _finite(tot["over25_max_open"].iloc[k]),
            "under": _finite(tot["under25_max_open"].iloc[k]),
            "ah_line": float(line) if np.isfinite(line) else None,
            "ah_home": _finite(ah["ahh_max_open"].iloc[k]), "ah_away": _finite(ah["aha_max_open"].iloc[k]),
        })
    return out


def price_offers(best: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """The best prices as the API's ``prices`` items (only selections the pricing can take)."""
    wanted: list[tuple[str, str, float | None, float | None]] = [
        ("1x2", s, None, best.get(s)) for s in OUTCOME_KEYS]
    wanted += [("totals", "over", TOTALS_LINE, best.get("over")),
               ("totals", "under", TOTALS_LINE, best.get("under"))]
    line = best.get("ah_line")
    if line is not None:
        wanted += [("asian_handicap", "home", line, best.get("ah_home")),
                   ("asian_handicap", "away", line, best.get("ah_away"))]
    out = []
    for market, selection, ln, price in wanted:
        if price is None:
            continue
        try:
            mk.check_price(market, selection, ln)
        except ValueError:
            continue  # e.g. a handicap line beyond the priced range
        out.append({"market": market, "selection": selection, "price": price,
                    **({"line": ln} if ln is not None else {})})
    return out


def _query(body: dict[str, Any]) -> MatchQuery:
    return match_query(MatchRequest.model_validate(body))


def board_rows(fixtures: pd.DataFrame) -> tuple[list[BoardRow], list[dict[str, Any]]]:
    """Rows (fixture, plain request, best prices) and, per row, the body the board sends: the
    plain request plus the markets it shows and the offered prices."""
    plain = fixture_requests(fixtures)
    rows, bodies = [], []
    for rec, body, best in zip(fixtures.to_dict("records"), plain, best_prices(fixtures), strict=True):
        rows.append(BoardRow(fixture=rec, request=body, best=best))
        bodies.append({**body, "markets": list(BOARD_MARKETS), "prices": price_offers(best)})
    return rows, bodies


async def predict_rows(state: Any, rows: Sequence[BoardRow], bodies: Sequence[dict[str, Any]],
                       request_id: str) -> None:
    """Fill each row's prediction (or error) through ``state.predict_async`` (logged as ``board``)."""
    queries: list[MatchQuery] = []
    index: list[int] = []
    for i, (row, body) in enumerate(zip(rows, bodies, strict=True)):
        try:
            queries.append(_query(body))
            index.append(i)
        except ValidationError as exc:
            row.error = f"not a valid request: {exc.errors()[0]['msg']}"
    results = await state.predict_async(queries, "board", request_id) if queries else []
    retry: list[int] = []
    for i, res in zip(index, results, strict=True):
        if isinstance(res, PredictionError) and res.code == "markets_unavailable":
            retry.append(i)
        _fill(rows[i], res)
    if retry:  # the served model prices 1X2 only: ask for that (with the 1X2 offers)
        bodies2 = [{**bodies[i], "markets": ["1x2"],
                    "prices": [p for p in bodies[i]["prices"] if p["market"] == "1x2"]} for i in retry]
        again = await state.predict_async([_query(b) for b in bodies2], "board", request_id)
        for i, res in zip(retry, again, strict=True):
            _fill(rows[i], res)


def _fill(row: BoardRow, res: Prediction | PredictionError) -> None:
    if isinstance(res, Prediction):
        row.prediction, row.error = res, None
        row.offers = {(o["market"], o["selection"], o.get("line")): o for o in res.offers or []}
    else:
        row.prediction, row.error = None, f"{res.code}: {res.message}"


def group_rows(rows: Sequence[BoardRow]) -> list[tuple[str, list[BoardRow]]]:
    """Rows by league (alphabetical), each league's rows in kick-off order."""
    by: dict[str, list[BoardRow]] = {}
    for r in rows:
        by.setdefault(str(r.fixture["league"]), []).append(r)
    return [(lg, sorted(rs, key=lambda r: (r.fixture["kickoff"], r.fixture["home_team"])))
            for lg, rs in sorted(by.items())]
