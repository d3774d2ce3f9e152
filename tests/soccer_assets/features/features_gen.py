"""Random canonical match tables for the feature property tests (hypothesis strategies).

Small leagues (3-7 teams), 1-2 leagues, 1-3 seasons each with promotions / returning teams,
several matches per date (teams disjoint within a date), kick-off times known or not, scores,
shots that may be missing, and open / closing odds (1X2 columns, over/under 2.5 in ``extra``) that
may be missing.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from soccer_assets.core.schema import CORE_ODDS_COLUMNS, EXTRA_COLUMN

LEAGUES = ("E0", "E1")
KICKOFF_TIMES = (None, (12, 30), (15, 0), (17, 30), (20, 0))


def season_name(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def make_match(
    rng: np.random.Generator,
    league: str,
    season: str,
    day: dt.date,
    home: str,
    away: str,
) -> dict[str, object]:
    """One canonical row with random result, statistics and odds."""
    t = KICKOFF_TIMES[int(rng.integers(len(KICKOFF_TIMES)))]
    kickoff = pd.Timestamp(day) + (pd.Timedelta(hours=t[0], minutes=t[1]) if t else pd.Timedelta(0))
    hg, ag = (int(x) for x in rng.integers(0, 6, size=2))
    row: dict[str, object] = {
        "match_id": f"{league}|{season}|{home}|{away}|{day.isoformat()}",
        "league": league,
        "season": season,
        "date": pd.Timestamp(day),
        "kickoff": kickoff,
        "home_team": home,
        "away_team": away,
        "fthg": hg,
        "ftag": ag,
        "ftr": "H" if hg > ag else ("D" if hg == ag else "A"),
        "kickoff_time_known": t is not None,
    }
    stats_missing = rng.random() < 0.2
    for col in ("hs", "as", "hst", "ast", "hc", "ac"):
        row[col] = np.nan if stats_missing else float(rng.integers(0, 25))
    for col in CORE_ODDS_COLUMNS:
        row[col] = np.nan
    for book in ("ps", "avg", "b365", "max"):
        for phase in ("open", "close"):
            if rng.random() < 0.25:
                continue  # this book / phase is missing for this match
            probs = rng.dirichlet([3.0, 2.0, 2.5])
            margin = 1.0 + rng.uniform(-0.01, 0.08)
            for o, p in zip("hda", probs, strict=True):
                row[f"odds_{book}_{phase}_{o}"] = round(max(1.01, 1.0 / (p * margin)), 2)
    row[EXTRA_COLUMN] = json.dumps(totals_extra(rng))
    return row


def totals_extra(rng: np.random.Generator) -> dict[str, float]:
    """Over/under 2.5 prices as the parser keeps them in ``extra`` (each book/phase may be missing)."""
    out: dict[str, float] = {}
    for prefix in ("Avg", "P", "AvgC", "PC"):
        if rng.random() < 0.25:
            continue
        p = rng.uniform(0.3, 0.7)
        margin = 1.0 + rng.uniform(0.0, 0.08)
        out[f"{prefix}>2.5"] = round(max(1.01, 1.0 / (p * margin)), 2)
        out[f"{prefix}<2.5"] = round(max(1.01, 1.0 / ((1 - p) * margin)), 2)
    return out


@st.composite
def match_tables(draw: st.DrawFn, max_teams: int = 7, max_seasons: int = 3) -> pd.DataFrame:
    """A random multi-league, multi-season canonical match table (parser column names)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_leagues = draw(st.integers(1, 2))
    rows: list[dict[str, object]] = []
    for li in range(n_leagues):
        league = LEAGUES[li]
        n_teams = draw(st.integers(3, max_teams))
        pool = [f"{league}-T{k}" for k in range(n_teams + 4)]
        teams = pool[:n_teams]
        for s in range(draw(st.integers(1, max_seasons))):
            season = season_name(2016 + s)
            if s > 0:
                # promotions: swap 0-2 teams for teams from the pool (new or returning)
                for _ in range(draw(st.integers(0, 2))):
                    out = draw(st.sampled_from(teams))
                    incoming = draw(st.sampled_from([t for t in pool if t not in teams]))
                    teams = [incoming if t == out else t for t in teams]
            start = dt.date(2016 + s, 8, 1)
            offsets = sorted(set(draw(st.lists(st.integers(0, 280), min_size=1, max_size=8))))
            for off in offsets:
                day = start + dt.timedelta(days=off)
                order = [teams[i] for i in rng.permutation(len(teams))]
                n_matches = draw(st.integers(1, len(teams) // 2))
                for j in range(n_matches):
                    rows.append(make_match(rng, league, season, day, order[2 * j], order[2 * j + 1]))
    df = pd.DataFrame(rows)
    df["fthg"] = df["fthg"].astype("Int64")
    df["ftag"] = df["ftag"].astype("Int64")
    # Shuffle the input: the build must not depend on input order.
    perm = rng.permutation(len(df))
    return df.iloc[perm].reset_index(drop=True)


def mutate_from(
    df: pd.DataFrame, target_id: str, seed: int, delete_share: float = 0.3
) -> pd.DataFrame:
    """Rewrite the target match's result / statistics / closing odds, and delete or rewrite
    (teams, scores, statistics, all odds) every other match dated on or after the target's date.
    """
    rng = np.random.default_rng(seed)
    target = df.index[df["match_id"] == target_id][0]
    day = df.at[target, "date"]
    out = df.copy()
    keep: list[int] = []
    odds_cols = [c for c in df.columns if c.startswith("odds_")]
    close_cols = [c for c in odds_cols if "_close_" in c]
    teams = sorted(set(df["home_team"]) | set(df["away_team"]) | {"Newcomer FC"})
    for i in out.index:
        if i == target:
            out.at[i, "fthg"] = int(out.at[i, "fthg"]) + 1 + int(rng.integers(0, 3))
            out.at[i, "ftag"] = int(rng.integers(0, 6))
            for c in ("hs", "as", "hst", "ast"):
                out.at[i, c] = float(rng.integers(0, 30))
            for c in close_cols:
                out.at[i, c] = float(rng.uniform(1.05, 20.0))
            extra = json.loads(out.at[i, EXTRA_COLUMN])
            fresh = totals_extra(rng)
            extra.update({k: v for k, v in fresh.items() if k.startswith(("AvgC", "PC"))})
            out.at[i, EXTRA_COLUMN] = json.dumps(extra)
            keep.append(i)
            continue
        if out.at[i, "date"] < day:
            keep.append(i)
            continue
        if rng.random() < delete_share:
            continue
        if rng.random() < 0.3:
            h, a = rng.choice(len(teams), size=2, replace=False)
            out.at[i, "home_team"], out.at[i, "away_team"] = teams[h], teams[a]
        out.at[i, "fthg"] = int(rng.integers(0, 8))
        out.at[i, "ftag"] = int(rng.integers(0, 8))
        for c in ("hs", "as", "hst", "ast"):
            out.at[i, c] = float(rng.integers(0, 30))
        for c in odds_cols:
            out.at[i, c] = float(rng.uniform(1.05, 20.0))
        out.at[i, EXTRA_COLUMN] = json.dumps(totals_extra(rng))
        keep.append(i)
    return out.loc[keep].reset_index(drop=True)


@st.composite
def ladder_tables(draw: st.DrawFn, n_teams: int = 4, max_seasons: int = 3) -> pd.DataFrame:
    """Two divisions of one country (E0 over E1) sharing a pool of teams: after each season
    1-2 teams go down and as many come up, so a team's history spans both divisions."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = [f"T{k}" for k in range(2 * n_teams)]
    divisions = {"E0": pool[:n_teams], "E1": pool[n_teams:]}
    rows: list[dict[str, object]] = []
    for s in range(draw(st.integers(2, max_seasons))):
        season = season_name(2016 + s)
        if s > 0:  # distinct teams each way, so a second swap cannot undo the first
            k = draw(st.integers(1, 2))
            down = draw(st.lists(st.sampled_from(divisions["E0"]), min_size=k, max_size=k, unique=True))
            up = draw(st.lists(st.sampled_from(divisions["E1"]), min_size=k, max_size=k, unique=True))
            swap = {**dict(zip(down, up, strict=True)), **dict(zip(up, down, strict=True))}
            divisions = {lg: [swap.get(t, t) for t in teams] for lg, teams in divisions.items()}
        for league, teams in divisions.items():
            start = dt.date(2016 + s, 8, 1)
            offsets = sorted(set(draw(st.lists(st.integers(0, 280), min_size=2, max_size=6))))
            for off in offsets:
                order = [teams[i] for i in rng.permutation(len(teams))]
                for j in range(len(teams) // 2):
                    rows.append(make_match(rng, league, season, start + dt.timedelta(days=off),
                                           order[2 * j], order[2 * j + 1]))
    df = pd.DataFrame(rows)
    df["fthg"] = df["fthg"].astype("Int64")
    df["ftag"] = df["ftag"].astype("Int64")
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)
