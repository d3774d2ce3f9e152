"""Benchmark: our Dixon–Coles fit against penaltyblog's ``DixonColesGoalModel``, and the weekly walk.

Run: ``uv run python bench/dixon_coles.py [--data DIR] [--penaltyblog-python PY] [--repeat N]
[--pb-walk analytic|numeric]``.

1. *One fit against penaltyblog* (the field's reference library). Both fit one fixed data set — E0
   2021-22 and 2022-23 read straight from the CSVs (``HomeTeam, AwayTeam, FTHG, FTAG, Date``),
   decayed with ξ = 0.0018/day from 7 August 2023 — and price all 380 pairings of the 2022-23
   teams (15 × 15 grids on both sides, so only the fits differ). Printed side by side: fit times
   (median of ``N`` cold fits each, in this one run) and their ratio, penaltyblog's own loss at
   each optimum, and the largest differences of the 1X2 and over-2.5 probabilities — against
   penaltyblog's default fit, its fit without its analytic gradient, and its grids evaluated at our
   parameters. penaltyblog is not a dependency of the project (ADR 0011): it runs in a subprocess
   of an interpreter that has it, e.g. ``python3 -m venv /tmp/pbvenv && uv pip install --python
   /tmp/pbvenv/bin/python penaltyblog==1.13.1 numpy pandas``. Without one, the script says so and
   goes on.
2. *The weekly walk*: ``weekly_dixon_coles`` on D1, E0, E1, F1, I1, SP1 for 2023-24 (history
   2020-21 … 2022-23): wall time (median of up to 3), fits and time per fit, the 1X2 RPS and the
   totals-2.5 log loss of the grids over all matches and over those with ``Avg>2.5`` and
   ``AvgC>2.5`` prices. ``--pb-walk`` also runs the same procedure with penaltyblog (slow: about
   30 s with its default fit, minutes with ``numeric``) and compares on the matches it can price
   (it cannot price a team it has not seen).

Not a test: no assertions on timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from soccer_assets.core.seasons import season_to_code
from soccer_assets.modeling import metrics as M
from soccer_assets.modeling.goals.dixon_coles import (
    XI,
    country_of,
    decay_weights,
    fit_dixon_coles,
    weekly_dixon_coles,
)
from soccer_assets.modeling.markets import dixon_coles_grid, one_x_two
from soccer_assets.sources.parser import parse_season_csv

DEFAULT_DIR = Path("/work/shared/data/football-data")
DEFAULT_PB_PYTHON = "/tmp/pbvenv/bin/python"
AS_OF = "2023-08-07"
PB_SEASONS = ("2122", "2223")
LEAGUES = ("D1", "E0", "E1", "F1", "I1", "SP1")
TEST_SEASON = "2023-24"
HISTORY = ("2020-21", "2021-22", "2022-23")
PB_GOALS = 14  # 15 × 15 grids, penaltyblog's default, wherever the two are compared

# Run in the penaltyblog interpreter: JSON on stdin, JSON on stdout.
PB_COMMON = r"""
import json, statistics, sys, time
import numpy as np
import penaltyblog as pb
d = json.load(sys.stdin)
def model(hg, ag, home, away, w):
    return pb.models.DixonColesGoalModel(hg, ag, home, away, weights=np.asarray(w))
def price(m, h, a):
    g = m.predict(h, a)
    return [*map(float, g.home_draw_away), float(g.total_goals("over", 2.5))]
"""
PB_FIT = PB_COMMON + r"""
res = {"version": pb.__version__}
for name, kw in (("analytic", {}), ("numeric", {"use_gradient": False})):
    times = []
    for _ in range(d["repeat"]):
        m = model(d["hg"], d["ag"], d["home"], d["away"], d["w"])
        t = time.perf_counter()
        m.fit(**kw)
        times.append(time.perf_counter() - t)
    res[name] = {"time": statistics.median(times), "loss": float(m._loss_function(m._params)),
                 "probs": [price(m, h, a) for h, a in d["pairs"]]}
ours = np.array(d["ours_params"])  # same team order (sorted names), penaltyblog's convention
res["loss_at_ours"] = float(m._loss_function(ours))
m._params = ours  # penaltyblog's own grids at our parameters: are the two models the same?
res["probs_at_ours"] = [price(m, h, a) for h, a in d["pairs"]]
res["teams"] = [str(t) for t in m.teams]
print(json.dumps(res))
"""
PB_WALK = PB_COMMON + r"""
f = {k: np.asarray(v) for k, v in d["frame"].items()}
out, n_fits, t0 = {}, 0, time.perf_counter()
for c in np.unique(f["country"][f["test"]]):
    rows = f["country"] == c
    for week in np.unique(f["monday"][rows & f["test"]]):
        k = rows & f["played"] & (f["day"] < week)
        m = model(f["hg"][k].astype(int), f["ag"][k].astype(int), f["home"][k], f["away"][k],
                  np.exp(-d["xi"] * (week - f["day"][k])))
        m.fit(**d["fit_args"])
        n_fits += 1
        seen = set(m.teams)
        for i in np.flatnonzero(rows & f["test"] & (f["monday"] == week)):
            if f["home"][i] in seen and f["away"][i] in seen:
                out[str(f["match_id"][i])] = price(m, f["home"][i], f["away"][i])
print(json.dumps({"time": time.perf_counter() - t0, "fits": n_fits, "probs": out}))
"""


def run_penaltyblog(python: str, script: str, payload: dict) -> dict | None:
    """penaltyblog's answer, or ``None`` (with the reason printed) if it cannot run."""
    try:
        run = subprocess.run([python, "-c", script], input=json.dumps(payload), capture_output=True,
                             text=True, check=True, timeout=1800)
        return json.loads(run.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
        print(f"penaltyblog is not runnable with {python} ({detail[-1] if detail else exc}); skipping "
              "the comparison. Install it into a separate venv: python3 -m venv /tmp/pbvenv && "
              "uv pip install --python /tmp/pbvenv/bin/python penaltyblog==1.13.1 numpy pandas")
        return None


def probabilities(lam_home, lam_away, rho, max_goals: int) -> np.ndarray:
    """``(n, 4)``: P(home), P(draw), P(away), P(over 2.5) of the Dixon–Coles grids."""
    grids = dixon_coles_grid(lam_home, lam_away, rho, max_goals=max_goals)
    goals = np.add.outer(np.arange(max_goals + 1), np.arange(max_goals + 1))
    return np.column_stack([one_x_two(grids), (grids * (goals >= 3)).sum(axis=(1, 2))])


def max_diff(a: np.ndarray, b: np.ndarray) -> str:
    d = np.abs(a - b)
    top = d.max(axis=0)
    return (f"home {top[0]:.1e}  draw {top[1]:.1e}  away {top[2]:.1e}  over 2.5 {top[3]:.1e}"
            f"  (99th percentile of all {np.quantile(d, 0.99):.1e})")


def compare(root: Path, python: str, repeat: int) -> None:
    frames = []
    for code in PB_SEASONS:
        raw = pd.read_csv(root / "mmz4281" / code / "E0.csv", encoding="utf-8-sig")
        frames.append(raw.dropna(subset=["FTHG", "FTAG"]).assign(
            Date=lambda f: pd.to_datetime(f["Date"], dayfirst=True, format="mixed")))
    df = pd.concat(frames, ignore_index=True)
    teams = sorted(set(df["HomeTeam"]) | set(df["AwayTeam"]))
    idx = {t: i for i, t in enumerate(teams)}
    hi, ai = df["HomeTeam"].map(idx).to_numpy(), df["AwayTeam"].map(idx).to_numpy()
    x, y = df["FTHG"].to_numpy(float), df["FTAG"].to_numpy(float)
    w = decay_weights(df["Date"], AS_OF, XI)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fit = fit_dixon_coles(hi, ai, x, y, w, len(teams))
        times.append(time.perf_counter() - t)
    t_ours = statistics.median(times)
    last = sorted(set(df.loc[df["Date"] >= "2022-07-01", "HomeTeam"]))
    pairs = [(h, a) for h in last for a in last if h != a]
    ours = probabilities(*fit.rates([idx[h] for h, _ in pairs], [idx[a] for _, a in pairs]), fit.rho,
                         PB_GOALS)
    print(f"== one fit: E0 {PB_SEASONS[0]}+{PB_SEASONS[1]}, {len(df)} matches, {len(teams)} teams, "
          f"decay ξ={XI} from {AS_OF}; {len(pairs)} pairings priced")
    print(f"ours: {t_ours * 1000:.1f} ms (median of {repeat}), {fit.n_iter} iterations, nll {fit.nll:.4f}")
    # penaltyblog: log λh = hfa + attack[h] + defence[a], with mean(attack) = 1.
    shift = 1.0 - fit.attack.mean()
    params = np.concatenate([fit.attack + shift, -fit.defence - shift, [fit.home_adv, fit.rho]])
    pb = run_penaltyblog(python, PB_FIT, {
        "hg": df["FTHG"].astype(int).tolist(), "ag": df["FTAG"].astype(int).tolist(),
        "home": df["HomeTeam"].tolist(), "away": df["AwayTeam"].tolist(), "w": w.tolist(),
        "pairs": pairs, "repeat": repeat, "ours_params": params.tolist()})
    if pb is None:
        return
    if pb["teams"] != teams:
        raise SystemExit("penaltyblog indexed the teams differently; the parameter check is invalid")
    an, nu = pb["analytic"], pb["numeric"]
    print(f"{'':<34}{'ours':>12}{'pb default':>14}{'pb numeric grad':>18}   (penaltyblog {pb['version']})")
    print(f"{'fit time (median), ms':<34}{t_ours * 1000:>12.1f}{an['time'] * 1000:>14.1f}"
          f"{nu['time'] * 1000:>18.1f}")
    print(f"{'fit time ratio, ours / pb':<34}{'':>12}{t_ours / an['time']:>14.3f}"
          f"{t_ours / nu['time']:>18.3f}")
    print(f"{'penaltyblog loss at the optimum':<34}{pb['loss_at_ours']:>12.4f}{an['loss']:>14.4f}"
          f"{nu['loss']:>18.4f}")
    for name, other in (("pb default fit", an["probs"]), ("pb numeric-gradient fit", nu["probs"]),
                        ("pb grids at our parameters", pb["probs_at_ours"])):
        print(f"max |Δp| vs {name:<27} {max_diff(ours, np.array(other))}")
    print("(penaltyblog's default fit uses its analytic gradient, which differs from finite "
          "differences whenever ρ ≠ 0,\n so it stops short of the optimum; without it, it reaches ours.)")


def walk(root: Path, repeat: int, python: str, pb_walk: str | None) -> None:
    matches = pd.concat(
        [parse_season_csv((root / "mmz4281" / season_to_code(s) / f"{lg}.csv").read_bytes(), lg,
                          s).matches for s in (*HISTORY, TEST_SEASON) for lg in LEAGUES],
        ignore_index=True)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = weekly_dixon_coles(matches, TEST_SEASON)
        times.append(time.perf_counter() - t)
    dates = pd.to_datetime(matches["date"]).dt.normalize()
    day = (dates - pd.Timestamp("1970-01-01")).dt.days
    monday = day - dates.dt.day_of_week
    test = (matches["season"] == TEST_SEASON).to_numpy()
    n_fits = pd.DataFrame({"c": matches["league"].map(country_of), "m": monday})[test].drop_duplicates()
    wall = statistics.median(times)
    print(f"\n== weekly walk {TEST_SEASON}, {'+'.join(LEAGUES)} (history {HISTORY[0]}..{HISTORY[-1]}): "
          f"{len(out)} matches, {len(n_fits)} weekly fits")
    print(f"wall time {wall:.2f} s (median of {repeat}: {', '.join(f'{t:.2f}' for t in times)}), "
          f"{wall / len(n_fits) * 1000:.1f} ms per fit")

    res = matches.set_index("match_id").loc[out["match_id"]]
    y = M.outcome_index(res["ftr"])
    y_over = ((res["fthg"] + res["ftag"]) >= 3).to_numpy(float)
    extra = res["extra"].map(lambda s: json.loads(s) if isinstance(s, str) else {})
    price = {k: pd.to_numeric(extra.map(lambda d, k=k: d.get(k)), errors="coerce").to_numpy()
             for k in ("Avg>2.5", "Avg<2.5", "AvgC>2.5")}
    priced = np.isfinite(price["Avg>2.5"]) & np.isfinite(price["AvgC>2.5"])

    def line(name: str, p: np.ndarray, keep: np.ndarray) -> str:
        ll = M.binary_scores(p[keep, 3], y_over[keep])["log_loss"]
        return (f"{name:<40} n={keep.sum():>5}  1X2 RPS {M.rps(p[keep, :3], y[keep]):.4f}  "
                f"totals-2.5 log loss {ll:.4f}")

    ours = probabilities(out["lam_home"], out["lam_away"], out["rho"], 10)  # the project's grids
    print(line("ours, all matches", ours, np.ones(len(out), dtype=bool)))
    print(line("ours, with Avg>2.5 and AvgC>2.5 prices", ours, priced))
    market = (1 / price["Avg>2.5"]) / (1 / price["Avg>2.5"] + 1 / price["Avg<2.5"])
    ok = priced & np.isfinite(market)
    print(f"{'opening average price, de-margined':<40} n={ok.sum():>5}  totals-2.5 log loss "
          f"{M.binary_scores(market[ok], y_over[ok])['log_loss']:.4f}")
    if pb_walk is None:
        return
    frame = {"country": matches["league"].map(country_of).tolist(), "day": day.tolist(),
             "monday": monday.tolist(), "test": test.tolist(), "match_id": matches["match_id"].tolist(),
             "home": matches["home_team"].tolist(), "away": matches["away_team"].tolist(),
             "hg": matches["fthg"].astype(float).fillna(-1).tolist(),
             "ag": matches["ftag"].astype(float).fillna(-1).tolist(),
             "played": (matches["fthg"].notna() & matches["ftag"].notna()).tolist()}
    pb = run_penaltyblog(python, PB_WALK, {"frame": frame, "xi": XI,
                                           "fit_args": {"use_gradient": pb_walk == "analytic"}})
    if pb is None:
        return
    keep = out["match_id"].isin(list(pb["probs"])).to_numpy()
    theirs = np.full_like(ours, np.nan)
    theirs[keep] = np.array([pb["probs"][mid] for mid in out.loc[keep, "match_id"]])
    ours15 = probabilities(out["lam_home"], out["lam_away"], out["rho"], PB_GOALS)
    print(f"penaltyblog ({pb_walk} gradient): {pb['fits']} fits in {pb['time']:.1f} s "
          f"({pb['time'] / pb['fits'] * 1000:.0f} ms per fit; ours {wall / len(n_fits) * 1000:.1f} ms)")
    print(line("penaltyblog, the matches it can price", theirs, keep))
    print(line("ours (15 × 15 grids), the same matches", ours15, keep))
    print(f"max |Δp| ours vs penaltyblog walk: {max_diff(ours15[keep], theirs[keep])}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--penaltyblog-python", default=None,
                    help=f"interpreter with penaltyblog (default: this one if it has it, "
                         f"else {DEFAULT_PB_PYTHON})")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pb-walk", choices=("analytic", "numeric"), default=None,
                    help="also run the weekly walk with penaltyblog (its default fit is 'analytic')")
    args = ap.parse_args()
    python = args.penaltyblog_python or (
        sys.executable if importlib.util.find_spec("penaltyblog") else DEFAULT_PB_PYTHON)
    compare(args.data, python, args.repeat)
    walk(args.data, max(1, min(args.repeat, 3)), python, args.pb_walk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
