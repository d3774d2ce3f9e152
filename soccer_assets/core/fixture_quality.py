"""Data-quality rules of the upcoming fixtures (pure): what the ``fixtures`` asset checks.

Blocking rules keep a bad file out of the warehouse (the previous fixtures stay); the others warn.
Outcomes are :class:`soccer_assets.core.quality.CheckOutcome`, as the match checks'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from soccer_assets.core.quality import CheckOutcome, _examples, odds_above_one

# (name, blocking), in the order the asset reports them.
FIXTURE_CHECKS = [
    ("unique_fixture_key", True),
    ("distinct_teams", True),
    ("fixture_odds_above_one", False),
    ("fixture_teams_known", False),
    ("fixtures_after_last_result", False),
]


def unique_fixture_key(df: pd.DataFrame) -> CheckOutcome:
    dup = df["match_id"].duplicated(keep=False)
    return CheckOutcome("unique_fixture_key", not dup.any(), True,
                        "a pairing appears once per league and season",
                        {"duplicates": int(dup.sum()), "examples": _examples(df, dup)})


def distinct_teams(df: pd.DataFrame) -> CheckOutcome:
    same = df["home_team"] == df["away_team"]
    return CheckOutcome("distinct_teams", not same.any(), True, "home and away are different teams",
                        {"bad_rows": int(same.sum()), "examples": _examples(df, same)})


def fixture_odds_above_one(df: pd.DataFrame) -> CheckOutcome:
    o = odds_above_one(df)
    return CheckOutcome("fixture_odds_above_one", o.passed, False, o.description, o.metadata)


def fixture_teams_known(df: pd.DataFrame, known: Collection[str]) -> CheckOutcome:
    """Every team is in the online feature store (else the API answers ``unknown_team``)."""
    teams = sorted(set(df["home_team"]) | set(df["away_team"]))
    unknown = [t for t in teams if t not in known]
    return CheckOutcome("fixture_teams_known", not unknown, False,
                        "every fixture's teams have a team state", {"unknown_teams": unknown[:20],
                                                                     "n_unknown": len(unknown)})


def fixtures_after_last_result(df: pd.DataFrame, last_dates: Mapping[str, dt.date]) -> CheckOutcome:
    """No fixture is dated before its league's latest stored result (else the file is stale)."""
    last = df["league"].map(lambda lg: pd.Timestamp(last_dates[lg]) if lg in last_dates else pd.NaT)
    stale = np.asarray((pd.to_datetime(df["date"]) < last).fillna(False), dtype=bool)
    return CheckOutcome("fixtures_after_last_result", not stale.any(), False,
                        "no fixture is dated before its league's latest stored result",
                        {"stale_rows": int(stale.sum()), "examples": _examples(df, stale)})


def run_fixture_checks(df: pd.DataFrame, known_teams: Collection[str],
                       last_dates: Mapping[str, dt.date]) -> list[CheckOutcome]:
    return [unique_fixture_key(df), distinct_teams(df), fixture_odds_above_one(df),
            fixture_teams_known(df, known_teams), fixtures_after_last_result(df, last_dates)]
