"""Data-quality rules for a parsed league-season (pure; the Dagster asset checks wrap them).

Each rule returns a :class:`CheckOutcome`. ``blocking`` rules guard the warehouse: a partition that
fails one is not written at all, so downstream assets never see it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from soccer_assets.core.seasons import season_bounds


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _examples(df: pd.DataFrame, mask: pd.Series | np.ndarray, n: int = 5) -> list[str]:
    return df.loc[np.asarray(mask), "match_id"].head(n).tolist()


def unique_match_key(df: pd.DataFrame) -> CheckOutcome:
    dup = df["match_id"].duplicated(keep=False)
    return CheckOutcome(
        "unique_match_key",
        not dup.any(),
        True,
        "each (league, season, home, away, date) appears once",
        {"duplicates": int(dup.sum()), "examples": _examples(df, dup)},
    )


def result_consistent_with_goals(df: pd.DataFrame) -> CheckOutcome:
    diff = (df["fthg"] - df["ftag"]).astype("float64")
    expected = np.where(diff > 0, "H", np.where(diff < 0, "A", "D"))
    bad = df["ftr"].to_numpy() != expected
    ht = df[["hthg", "htag", "htr"]].dropna()
    ht_diff = (ht["hthg"] - ht["htag"]).astype("float64")
    ht_expected = np.where(ht_diff > 0, "H", np.where(ht_diff < 0, "A", "D"))
    ht_bad_idx = ht.index[ht["htr"].to_numpy() != ht_expected]
    more_at_ht = (df["hthg"] > df["fthg"]).fillna(False) | (df["htag"] > df["ftag"]).fillna(False)
    bad_all = pd.Series(bad, index=df.index)
    bad_all.loc[ht_bad_idx] = True
    bad_all |= more_at_ht.astype(bool)
    return CheckOutcome(
        "result_consistent_with_goals",
        not bad_all.any(),
        True,
        "FTR/HTR agree with the goals and half-time goals never exceed full-time goals",
        {"inconsistent": int(bad_all.sum()), "examples": _examples(df, bad_all)},
    )


def dates_inside_season(df: pd.DataFrame, season: str) -> CheckOutcome:
    lo, hi = season_bounds(season)
    dates = df["date"].dt.date
    bad = (dates < lo) | (dates > hi)
    return CheckOutcome(
        "dates_inside_season",
        not bad.any(),
        True,
        f"every match is dated between {lo} and {hi}",
        {"outside": int(bad.sum()), "examples": _examples(df, bad)},
    )


def odds_above_one(df: pd.DataFrame) -> CheckOutcome:
    cols = [c for c in df.columns if c.startswith("odds_")]
    values = df[cols].to_numpy(dtype="float64")
    bad_cells = ~np.isnan(values) & (values <= 1.0)
    bad_rows = bad_cells.any(axis=1)
    return CheckOutcome(
        "odds_above_one",
        not bad_rows.any(),
        False,
        "every quoted decimal odd is greater than 1",
        {"bad_rows": int(bad_rows.sum()), "examples": _examples(df, bad_rows)},
    )


def expected_row_count(df: pd.DataFrame) -> CheckOutcome:
    teams = sorted(set(df["home_team"]) | set(df["away_team"]))
    expected = len(teams) * (len(teams) - 1)
    return CheckOutcome(
        "expected_row_count",
        len(df) == expected,
        False,
        "a complete double round-robin: n_teams × (n_teams − 1) matches "
        "(fails, as a warning, for a season in progress or one cut short like Ligue 1 2019-20)",
        {"rows": len(df), "teams": len(teams), "expected": expected},
    )


def no_columns_dropped(df: pd.DataFrame, raw_rows: list[dict[str, str]], mapped: set[str]) -> CheckOutcome:
    """Every non-empty source cell of an unmapped column is preserved verbatim in ``extra``.

    ``raw_rows`` are the source rows (header -> cell) in the same order as ``df`` before sorting;
    rows are matched on ``match_id`` so the check does not depend on the parser's ordering.
    """
    extra_by_id = dict(zip(df["match_id"], df["extra"], strict=True))
    lost: dict[str, int] = {}
    for row in raw_rows:
        match_id = row["__match_id__"]
        kept = json.loads(extra_by_id.get(match_id, "{}"))
        for col, value in row.items():
            if col == "__match_id__" or col in mapped or value == "":
                continue
            if kept.get(col) != value:
                lost[col] = lost.get(col, 0) + 1
    return CheckOutcome(
        "no_columns_dropped",
        not lost,
        True,
        "every non-empty source column is mapped or preserved verbatim in `extra`",
        {"lost_cells_by_column": lost},
    )


def fewer_matches_than_stored(league: str, season: str, new: int, stored: int | None,
                              where: str) -> str | None:
    """Why a re-served season may not replace the stored one, or None if it may.

    A season only grows at the source; a file with fewer matches than the stored copy (one cut at a
    row boundary mid-update, a lost last row) would silently erase history, so it is refused.
    """
    if stored is None or new >= stored:
        return None
    return (f"{league} {season}: the new file has {new} matches where {where} holds {stored}; "
            "refused, the stored file, matches and features are kept. If the source really corrected "
            "the season, re-run with `soccer pipeline --allow-fewer-matches` or the run config "
            "`allow_fewer_matches: true` of raw_match_files and matches (logged)")


def run_all(df: pd.DataFrame, season: str) -> list[CheckOutcome]:
    return [
        unique_match_key(df),
        result_consistent_with_goals(df),
        dates_inside_season(df, season),
        odds_above_one(df),
        expected_row_count(df),
    ]
