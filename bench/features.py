"""Benchmark: build pre-match features for every shared football-data file (72 league-seasons).

Run: ``uv run python bench/features.py [DATA_DIR]``. Prints parse time, feature-build time
(median of 3) and matches per second. Not a test: no assertions on timing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from soccer_assets.core.seasons import code_to_season
from soccer_assets.features.build import ALL_FEATURES, RATING_FEATURES, build_match_features
from soccer_assets.sources.parser import parse_season_csv

DEFAULT_DIR = Path("/work/shared/data/football-data/mmz4281")


def load_all(root: Path) -> pd.DataFrame:
    """Parse every ``<code>/<DIV>.csv`` under ``root`` into one canonical match table."""
    frames = []
    for path in sorted(root.glob("*/*.csv")):
        league, code = path.stem, path.parent.name
        frames.append(parse_season_csv(path.read_bytes(), league, code_to_season(code)).matches)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    t0 = time.perf_counter()
    matches = load_all(root)
    t_parse = time.perf_counter() - t0
    n = len(matches)
    print(f"parsed {n} matches from {root} in {t_parse:.2f} s")
    times, cpu = [], []
    feats = None
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        feats = build_match_features(matches)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    print(f"build_match_features: runs {', '.join(f'{t:.2f}' for t in times)} s; "
          f"median {med:.2f} s = {n / med:,.0f} matches/s "
          f"(median CPU time {statistics.median(cpu):.2f} s; single-threaded)")
    assert feats is not None
    print(f"{len(ALL_FEATURES)} feature columns; rows with any NaN rating feature: "
          f"{int(feats[RATING_FEATURES].isna().any(axis=1).sum())}; "
          f"rows without market features: {int(feats['market_p_home'].isna().sum())}")


if __name__ == "__main__":
    main()
