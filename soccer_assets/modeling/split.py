"""Walk-forward temporal split for the model evaluated on season S (pure pandas).

Rules (the leakage contract of DESIGN.md):

* **test** = every row of season S (all leagues in the frame).
* **training pool** = rows of seasons strictly before S whose date is strictly before S's first
  possible date (1 July of S's first year, :func:`soccer_assets.core.seasons.season_bounds`). A
  pre-S row dated on or after that cutoff (e.g. the COVID-delayed 2019-20 matches of July/August
  2020 when S = 2020-21) is *dropped* and counted in ``boundaries["n_dropped_late"]``; no row
  of S or a later season ever enters training or validation.
* **validation** = the end of the training pool, used for early stopping / calibration:
  either the last ``validation_seasons`` seasons of the pool (default 1; of each kind, split
  seasons and calendar years, when the pool holds both) or, with
  ``validation_fraction``, the last fraction of pool rows by date. The window is cut on a
  *date* (``validation_start``): train rows are dated strictly before it and validation rows on
  or after it, so every validation row is later than every training row even when seasons
  overlap in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from soccer_assets.core.seasons import is_calendar_season, season_bounds, season_key


@dataclass(frozen=True)
class Split:
    test_season: str
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    boundaries: dict = field(default_factory=dict)

    @property
    def fit(self) -> pd.DataFrame:
        """Train + validation: everything the model may learn from (for refits and baselines)."""
        return pd.concat([self.train, self.validation], ignore_index=True)


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("date", "kickoff", "league", "match_id") if c in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def temporal_split(
    features_df: pd.DataFrame,
    test_season: str,
    validation_seasons: int | None = 1,
    validation_fraction: float | None = None,
) -> Split:
    """Split a feature (or match) table into train / validation / test for ``test_season``.

    ``features_df`` needs ``season`` (``"2023-24"`` form) and ``date`` columns. Pass
    ``validation_fraction`` (0 < f < 1) to use the last fraction of pool rows by date instead of
    the last ``validation_seasons`` seasons. Raises ``ValueError`` if train or validation would
    be empty. An empty test set is allowed (a model for a season not yet played).
    """
    for col in ("season", "date"):
        if col not in features_df.columns:
            raise ValueError(f"features_df lacks the {col!r} column")
    s_rank = season_key(test_season)
    cutoff = pd.Timestamp(season_bounds(test_season)[0])

    df = features_df.copy()
    df["date"] = pd.to_datetime(df["date"])
    if df["date"].isna().any():
        raise ValueError("features_df has rows without a date")
    # Ranks, not start years: a calendar season 2025 and the split 2025-26 share a start year.
    years = df["season"].map(season_key)

    before = years < s_rank
    pool = df[before & (df["date"] < cutoff)]
    n_dropped_late = int((before & (df["date"] >= cutoff)).sum())
    test = _sorted(df[years == s_rank])
    n_future = int((years > s_rank).sum())
    if pool.empty:
        raise ValueError(f"no rows dated before {test_season} to train on")

    pool_years = years[pool.index]
    if validation_fraction is not None:
        if not 0.0 < validation_fraction < 1.0:
            raise ValueError("validation_fraction must be strictly between 0 and 1")
        dates = pool["date"].sort_values(kind="stable").to_numpy()
        k = min(len(dates) - 1, max(0, math.floor(len(dates) * (1.0 - validation_fraction))))
        val_start = pd.Timestamp(dates[k])
        mode = f"last {validation_fraction:.0%} of training rows by date"
    else:
        n_val = 1 if validation_seasons is None else int(validation_seasons)
        if n_val < 1:
            raise ValueError("validation_seasons must be >= 1")
        distinct = sorted(set(pool_years))
        if len(distinct) <= n_val:
            raise ValueError(
                f"need more than {n_val} season(s) before {test_season} for a validation "
                f"window; the pool has {len(distinct)}"
            )
        # Per kind: with calendar-year leagues in the pool, "the last season" is the last split
        # season and the last calendar year, so the window starts where the earlier of the two
        # does (else the year 2023 alone would shrink a 2023-24 model's window to February-June).
        calendar = pool["season"].map(is_calendar_season)
        val_years = [y for kind in (False, True)
                     for y in sorted(set(pool_years[calendar == kind]))[-n_val:]]
        val_start = pool.loc[pool_years.isin(val_years), "date"].min()
        mode = f"last {n_val} training season(s)"

    train = _sorted(pool[pool["date"] < val_start])
    validation = _sorted(pool[pool["date"] >= val_start])
    if train.empty or validation.empty:
        raise ValueError(
            f"validation window starting {_iso(val_start)} leaves "
            f"{len(train)} training and {len(validation)} validation rows"
        )

    def _seasons(frame: pd.DataFrame) -> list[str]:
        return sorted(set(frame["season"]), key=season_key)

    boundaries = {
        "test_season": test_season,
        "cutoff_date": _iso(cutoff),
        "validation_mode": mode,
        "validation_start": _iso(val_start),
        "n_train": len(train),
        "n_validation": len(validation),
        "n_test": len(test),
        "n_dropped_late": n_dropped_late,
        "n_excluded_future": n_future,
        "train_first_date": _iso(train["date"].min()),
        "train_last_date": _iso(train["date"].max()),
        "validation_first_date": _iso(validation["date"].min()),
        "validation_last_date": _iso(validation["date"].max()),
        "test_first_date": _iso(test["date"].min()) if len(test) else None,
        "test_last_date": _iso(test["date"].max()) if len(test) else None,
        "train_seasons": _seasons(train),
        "validation_seasons": _seasons(validation),
        "leagues": sorted(set(df["league"])) if "league" in df.columns else [],
    }
    return Split(test_season, train, validation, test, boundaries)
