"""Canonical match rows as the small records that update team states, grouped by match day.

Leakage: features of a match on date D are computed from the states after all matches dated
strictly before D, so the feature build and ``build_team_states`` walk the matches one date at a
time (``iter_match_days``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["MatchRecord", "iter_match_days", "match_records", "to_date"]


class MatchRecord(NamedTuple):
    """The fields of a canonical match row that update a state (NaN where missing)."""

    league: str
    season: str
    date: dt.date
    kickoff_ns: int  # kick-off as integer nanoseconds since the epoch (orders same-day matches)
    home_team: str
    away_team: str
    fthg: float
    ftag: float
    hs: float
    as_: float
    hst: float
    ast: float


def to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _float_col(df: pd.DataFrame, col: str) -> np.ndarray:
    if col not in df:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def match_records(matches: pd.DataFrame) -> list[MatchRecord]:
    """Canonical match rows -> ``MatchRecord`` list (input order kept)."""
    n = len(matches)
    if n == 0:
        return []
    day = pd.to_datetime(matches["date"]).to_numpy(dtype="datetime64[ns]")
    dates = day.astype("datetime64[D]").astype(object).tolist()
    ko = pd.to_datetime(matches["kickoff"]).to_numpy(dtype="datetime64[ns]") if (
        "kickoff" in matches
    ) else day
    kickoff = ko.astype(np.int64).tolist()
    cols = [_float_col(matches, c).tolist() for c in ("fthg", "ftag", "hs", "as", "hst", "ast")]
    return [
        MatchRecord(*row)
        for row in zip(
            matches["league"].astype(str).tolist(),
            matches["season"].astype(str).tolist(),
            dates,
            kickoff,
            matches["home_team"].astype(str).tolist(),
            matches["away_team"].astype(str).tolist(),
            *cols,
            strict=True,
        )
    ]


def iter_match_days(records: list[MatchRecord]) -> Iterator[tuple[dt.date, list[int]]]:
    """(date, indices into ``records``) per distinct date, in date order."""
    by_date: dict[dt.date, list[int]] = {}
    for i, m in enumerate(records):
        by_date.setdefault(m.date, []).append(i)
    for d in sorted(by_date):
        yield d, by_date[d]
