"""Benchmark: our Dixon–Coles fit against penaltyblog's ``DixonColesGoalModel``, side by side.

Run: ``uv run python bench/dixon_coles.py [DATA_DIR] [PENALTYBLOG_PYTHON]``. Both fit E0 and E1
2020-21 … 2022-23 pooled, decay ξ = 0.0018/day from 1 August 2023, and price every E0 2023-24
pairing; the script prints the fit time of each (median of 3, in one run) as a ratio and the
largest differences of the 1X2 and over-2.5 probabilities. penaltyblog is not a dependency of the
project (ADR 0011): give the interpreter of an environment that has it, e.g.
``python -m venv /tmp/pbvenv && /tmp/pbvenv/bin/pip install penaltyblog==1.13.1``. Not a test.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from soccer_assets.core.seasons import season_to_code
from soccer_assets.modeling.goals.dixon_coles import decay_weights, fit_dixon_coles
from soccer_assets.modeling.markets import dixon_coles_grid, fair_probability, one_x_two, total_outcomes
from soccer_assets.sources.parser import parse_season_csv

DEFAULT_DIR = Path("/work/shared/data/football-data")
AS_OF = "2023-08-01"
SEASONS = ("2020-21", "2021-22", "2022-23")

PENALTYBLOG = r"""
import json, sys, time
import numpy as np, penaltyblog as pb
d = json.load(sys.stdin)
times = []
for _ in range(3):
    t = time.perf_counter()
    m = pb.models.DixonColesGoalModel(d["hg"], d["ag"], d["home"], d["away"], weights=np.array(d["w"]))
    m.fit()
    times.append(time.perf_counter() - t)
out = []
for h, a in d["pairs"]:
    g = m.predict(h, a)
    out.append([*map(float, g.home_draw_away), float(g.total_goals("over", 2.5))])
print(json.dumps({"times": times, "probs": out}))
"""


def load(root: Path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    frames = [parse_season_csv((root / "mmz4281" / season_to_code(s) / f"{lg}.csv").read_bytes(), lg,
                               s).matches
              for lg in ("E0", "E1") for s in SEASONS]
    df = pd.concat(frames, ignore_index=True).dropna(subset=["fthg", "ftag"])
    e0 = parse_season_csv((root / "mmz4281" / "2324" / "E0.csv").read_bytes(), "E0", "2023-24").matches
    known = set(df["home_team"]) | set(df["away_team"])
    teams = sorted(t for t in set(e0["home_team"]) if t in known)
    return df, [(h, a) for h in teams for a in teams if h != a]


def ours(df: pd.DataFrame, pairs: list[tuple[str, str]]) -> tuple[list[float], np.ndarray]:
    teams = sorted(set(df["home_team"]) | set(df["away_team"]))
    idx = {t: i for i, t in enumerate(teams)}
    hi, ai = df["home_team"].map(idx).to_numpy(), df["away_team"].map(idx).to_numpy()
    w = decay_weights(df["date"], AS_OF)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fit = fit_dixon_coles(hi, ai, df["fthg"].to_numpy(float), df["ftag"].to_numpy(float), w, len(teams))
        times.append(time.perf_counter() - t)
    lh, la = fit.rates(np.array([idx[h] for h, _ in pairs]), np.array([idx[a] for _, a in pairs]))
    grids = dixon_coles_grid(lh, la, fit.rho)
    probs = np.column_stack([one_x_two(grids), fair_probability(total_outcomes(grids, [2.5]))[:, 0]])
    return times, probs


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    python = sys.argv[2] if len(sys.argv) > 2 else "/tmp/pbvenv/bin/python"
    df, pairs = load(root)
    t_ours, p_ours = ours(df, pairs)
    print(f"{len(df)} matches (E0+E1 {SEASONS[0]}..{SEASONS[-1]}), {len(pairs)} E0 2023-24 pairings")
    payload = json.dumps({"hg": df["fthg"].astype(int).tolist(), "ag": df["ftag"].astype(int).tolist(),
                          "home": df["home_team"].tolist(), "away": df["away_team"].tolist(),
                          "w": decay_weights(df["date"], AS_OF).tolist(), "pairs": pairs})
    try:
        run = subprocess.run([python, "-c", PENALTYBLOG], input=payload, capture_output=True, text=True,
                             check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"ours: fit {statistics.median(t_ours) * 1000:.1f} ms (median of 3)")
        print(f"penaltyblog is not runnable with {python}: {getattr(exc, 'stderr', '') or exc}")
        return 1
    pb = json.loads(run.stdout)
    t_pb, p_pb = statistics.median(pb["times"]), np.array(pb["probs"])
    print(f"{'':<14}{'ours':>10}{'penaltyblog':>14}{'ratio':>8}")
    print(f"{'fit (ms)':<14}{statistics.median(t_ours) * 1000:>10.1f}{t_pb * 1000:>14.1f}"
          f"{statistics.median(t_ours) / t_pb:>8.2f}")
    diff = np.abs(p_ours - p_pb).max(axis=0)
    print(f"max |Δp|  home {diff[0]:.2e}  draw {diff[1]:.2e}  away {diff[2]:.2e}  over 2.5 {diff[3]:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
