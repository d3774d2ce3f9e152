"""Over/under 2.5 goals and Asian handicap prices out of a match's ``extra`` JSON (pure, vectorised).

Why: the 1X2 odds have canonical columns (``odds_<book>_<phase>_<h|d|a>``); the totals and Asian
handicap (AH) markets stay verbatim in ``extra`` (the parser keeps every unmapped column there).
Value-betting on those markets needs them as numbers, pre-closing ("open": known before kick-off,
what a bet is decided on and settled at) apart from closing ("close": for closing-line value only).

Source keys (football-data ``notes.txt``; checked on every shared file 2012-13 ... 2023-24). The
first key present with a valid value wins, so the two eras fill the same columns:

=========  ==========================  ===============================  =======================
column     2019-20 onwards, open       up to 2018-19, open (Betbrain)    close (2019-20 onwards)
=========  ==========================  ===============================  =======================
avg        ``Avg>2.5`` ``AvgAHH``      ``BbAv>2.5`` ``BbAvAHH``          ``AvgC>2.5`` ``AvgCAHH``
max        ``Max>2.5`` ``MaxAHH``      ``BbMx>2.5`` ``BbMxAHH``          ``MaxC>2.5`` ``MaxCAHH``
ps         ``P>2.5`` ``PAHH``          (none)                            ``PC>2.5`` ``PCAHH``
AH line    ``AHh``                     ``BbAHh``                         ``AHCh``
=========  ==========================  ===============================  =======================

(``<2.5`` / ``AHA`` likewise.) Before 2019-20 there are no closing totals / AH prices and no
closing line: those columns are NaN; the opening line is never used in place of the closing one.

Rules: a missing key, an unparsable string, a non-finite number or an odd <= 1 gives NaN, never an
exception (likewise a missing ``extra`` column, a non-JSON or non-object cell). An AH line must be a
multiple of 0.25 (quarter lines included), otherwise NaN. AH prices only mean something with their
line, so the ``ahh_/aha_*_<phase>`` prices are NaN where ``ah_line_<phase>`` is NaN. The closing AH
prices are quoted at the closing line, which may differ from the opening one (37 % of E0 matches
2019-20 ... 2023-24): compare them with the opening prices (closing-line value) only where
``ah_line_open == ah_line_close``.

De-margined probabilities use :func:`soccer_assets.features.market.implied_probabilities` with
``method="multiplicative"`` on each two-way pair (over/under, home/away): p = (1/o) / sum(1/o).
They are NaN unless both prices of the pair are valid. ``max`` prices are a best-of-market pair, not
one book, so no ``p_*_max_*`` is produced.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from soccer_assets.core.schema import EXTRA_COLUMN
from soccer_assets.features.market import implied_probabilities

BOOKS = ("avg", "max", "ps")
PHASES = ("open", "close")
DEMARGINED_BOOKS = ("avg", "ps")

# (book, phase) -> source key prefixes, in priority order.
_PREFIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("avg", "open"): ("Avg", "BbAv"),
    ("avg", "close"): ("AvgC",),
    ("max", "open"): ("Max", "BbMx"),
    ("max", "close"): ("MaxC",),
    ("ps", "open"): ("P",),
    ("ps", "close"): ("PC",),
}
_LINE_KEYS = {"open": ("AHh", "BbAHh"), "close": ("AHCh",)}
_TOTALS_SIDES = {"over25": ">2.5", "under25": "<2.5"}
_AH_SIDES = {"ahh": "AHH", "aha": "AHA"}


def _price_columns(sides: Iterable[str]) -> list[str]:
    return [f"{side}_{book}_{phase}" for side in sides for book in BOOKS for phase in PHASES]


TOTALS_PRICE_COLUMNS = _price_columns(_TOTALS_SIDES)
TOTALS_PROB_COLUMNS = [f"p_over25_{b}_{ph}" for b in DEMARGINED_BOOKS for ph in PHASES]
TOTALS_COLUMNS = TOTALS_PRICE_COLUMNS + TOTALS_PROB_COLUMNS
AH_LINE_COLUMNS = ["ah_line_open", "ah_line_close"]
AH_PRICE_COLUMNS = _price_columns(_AH_SIDES)
AH_PROB_COLUMNS = [f"p_ahh_{b}_{ph}" for b in DEMARGINED_BOOKS for ph in PHASES]
AH_COLUMNS = AH_LINE_COLUMNS + AH_PRICE_COLUMNS + AH_PROB_COLUMNS


def _to_float(value: object) -> float:
    """A cell of ``extra`` as a float; NaN for anything that is not a finite number."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            return math.nan
    else:
        return math.nan
    return x if math.isfinite(x) else math.nan


def _odd(value: object) -> float:
    x = _to_float(value)
    return x if x > 1.0 else math.nan


def _line(value: object) -> float:
    x = _to_float(value)
    return x if math.isfinite(x) and (4.0 * x).is_integer() else math.nan


def _records(matches: pd.DataFrame) -> list[Mapping[str, object]]:
    """The ``extra`` cell of every row as a dict ({} when absent or not a JSON object)."""
    if EXTRA_COLUMN not in matches.columns:
        return [{} for _ in range(len(matches))]
    out: list[Mapping[str, object]] = []
    for cell in matches[EXTRA_COLUMN].tolist():
        rec: object = cell
        if isinstance(cell, (str, bytes, bytearray)):
            try:
                rec = json.loads(cell)
            except (ValueError, TypeError):
                rec = None
        out.append(rec if isinstance(rec, Mapping) else {})
    return out


def _first(records: Sequence[Mapping[str, object]], keys: Sequence[str],
           convert: Callable[[object], float]) -> np.ndarray:
    """Per record, the first of ``keys`` whose value converts to a finite number (else NaN)."""
    out = np.full(len(records), np.nan)
    for i, rec in enumerate(records):
        for key in keys:
            if key in rec:
                x = convert(rec[key])
                if not math.isnan(x):
                    out[i] = x
                    break
    return out


def _demargin(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Multiplicative de-margined probability of ``first`` in a two-way market (NaN if invalid)."""
    if len(first) == 0:
        return np.empty(0)
    return implied_probabilities(np.column_stack([first, second]), method="multiplicative")[:, 0]


def _prices(records: Sequence[Mapping[str, object]], sides: Mapping[str, str]) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for side, token in sides.items():
        for book in BOOKS:
            for phase in PHASES:
                keys = [p + token for p in _PREFIXES[(book, phase)]]
                cols[f"{side}_{book}_{phase}"] = _first(records, keys, _odd)
    return cols


def totals_prices(matches: pd.DataFrame) -> pd.DataFrame:
    """Over/under 2.5 goals prices and de-margined P(over 2.5) of every match.

    Columns (float, NaN when absent): ``over25_{avg,max,ps}_{open,close}``,
    ``under25_{avg,max,ps}_{open,close}``, ``p_over25_{avg,ps}_{open,close}``; same index as
    ``matches``. See the module docstring for the source keys and the NaN rules.
    """
    records = _records(matches)
    cols = _prices(records, _TOTALS_SIDES)
    for book in DEMARGINED_BOOKS:
        for phase in PHASES:
            cols[f"p_over25_{book}_{phase}"] = _demargin(
                cols[f"over25_{book}_{phase}"], cols[f"under25_{book}_{phase}"])
    return pd.DataFrame({c: cols[c] for c in TOTALS_COLUMNS}, index=matches.index, dtype=np.float64)


def asian_prices(matches: pd.DataFrame) -> pd.DataFrame:
    """Asian handicap line, prices and de-margined P(home covers) of every match.

    Columns (float, NaN when absent): ``ah_line_open``, ``ah_line_close`` (the home team's handicap,
    e.g. -0.75; the close line is NaN before 2019-20 and never filled from the open one),
    ``ahh_{avg,max,ps}_{open,close}``, ``aha_{avg,max,ps}_{open,close}`` (home / away odds at the
    line of the same phase; NaN where that line is NaN), ``p_ahh_{avg,ps}_{open,close}``
    (multiplicative, pushes ignored: the two-way prices are normalised as they are).
    """
    records = _records(matches)
    cols: dict[str, np.ndarray] = {
        f"ah_line_{phase}": _first(records, _LINE_KEYS[phase], _line) for phase in PHASES
    }
    cols.update(_prices(records, _AH_SIDES))
    for phase in PHASES:
        no_line = np.isnan(cols[f"ah_line_{phase}"])
        for side in _AH_SIDES:
            for book in BOOKS:
                cols[f"{side}_{book}_{phase}"][no_line] = np.nan
    for book in DEMARGINED_BOOKS:
        for phase in PHASES:
            cols[f"p_ahh_{book}_{phase}"] = _demargin(
                cols[f"ahh_{book}_{phase}"], cols[f"aha_{book}_{phase}"])
    return pd.DataFrame({c: cols[c] for c in AH_COLUMNS}, index=matches.index, dtype=np.float64)
