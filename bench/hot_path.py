"""Benchmark: the two hand-written pieces of the serving hot path against what they replace.

Run: ``uv run python bench/hot_path.py [--pg-admin URL]``. Not a test: nothing is asserted on
timing. Each pair is timed side by side in one run (best of 5 repeats, the median call of each)
and printed as a ratio, because absolute times drift on this shared machine:

* **trees**: ``Booster.inplace_predict`` against ``modeling.forest.Forest.margin`` on the same
  float32 rows (1, 4, 16 and 64 rows), for a booster trained by the pipeline's trainer on the
  shared E0 files (ratings variant, trained before 2023-24). Also checks the two are bit-equal.
* **log**: ``prediction_log.log_predictions`` (SQLAlchemy Core) against
  ``log_append.LogAppender.append`` for 1 and 100 served-prediction rows with their 41 features,
  on a throw-away SQLite file and, when PostgreSQL answers at ``--pg-admin`` (default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), a throw-away database there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "football-data"


def best_median(fn: Callable[[], Any], calls: int, repeats: int = 5) -> float:
    """Seconds per call: the median call of each repeat, the best repeat."""
    fn()
    out = []
    for _ in range(repeats):
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out.append(statistics.median(times))
    return min(out)


def trained_champion() -> tuple[Any, np.ndarray]:
    import pandas as pd

    from soccer_assets.core.seasons import code_to_season
    from soccer_assets.features.build import build_match_features
    from soccer_assets.modeling.evaluate import attach_labels
    from soccer_assets.modeling.split import temporal_split
    from soccer_assets.modeling.train import train_model
    from soccer_assets.sources.parser import parse_season_csv

    frames = [parse_season_csv(p.read_bytes(), "E0", code_to_season(p.parent.name)).matches
              for p in sorted((DATA / "mmz4281").glob("*/E0.csv"))]
    matches = pd.concat(frames, ignore_index=True)
    split = temporal_split(attach_labels(build_match_features(matches), matches), "2023-24",
                           validation_seasons=1)
    model = train_model(split.train, split.train["y"].to_numpy(), split.validation,
                        split.validation["y"].to_numpy(), variant="ratings", seed=0)
    return model, split.test[model.features].to_numpy(np.float32)


def trees(model: Any, X: np.ndarray) -> list[tuple[str, float, float]]:
    from soccer_assets.modeling.forest import Forest

    booster, n_iter = model.booster, model.best_iteration + 1
    booster.set_param({"nthread": 1})  # as the registry serves it
    forest = Forest.from_booster(booster, n_iter)
    out = []
    for n in (1, 4, 16, 64):
        rows = np.ascontiguousarray(X[:n])
        xgb_margin = booster.inplace_predict(rows, iteration_range=(0, n_iter), predict_type="margin",
                                             missing=np.nan)
        assert np.array_equal(np.asarray(xgb_margin, dtype=np.float32).reshape(n, -1), forest.margin(rows))
        a = best_median(lambda r=rows: booster.inplace_predict(r, iteration_range=(0, n_iter),
                                                               predict_type="margin", missing=np.nan), 300)
        b = best_median(lambda r=rows: forest.margin(r), 300)
        out.append((f"{n} rows", a, b))
    return out


def _row(i: int, features: list[str]) -> dict[str, Any]:
    return {"request_id": f"bench-{i}", "source": "api", "league": "E0", "season": "2023-24",
            "home_team": "Arsenal", "away_team": "Man City", "kickoff": dt.date(2024, 1, 20),
            "odds_home": None, "odds_draw": None, "odds_away": None, "p_home": 0.41, "p_draw": 0.27,
            "p_away": 0.32, "model_name": "soccer-outcome-ratings", "model_version": "1",
            "model_alias": "champion", "team_state_as_of": dt.date(2024, 1, 1),
            "team_state_updated_at": dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC),
            "features": {f: 0.1 * k + i for k, f in enumerate(features)}, "markets": None, "offers": None}


def log(url: str, features: list[str]) -> list[tuple[str, float, float]]:
    from soccer_assets.storage import prediction_log as plog
    from soccer_assets.storage.log_append import LogAppender
    from soccer_assets.storage.warehouse import Warehouse

    w = Warehouse(url)
    plog.create_schema(w.engine)
    appender = LogAppender(w.engine)
    out = []
    try:
        for n in (1, 100):
            rows = [_row(i, features) for i in range(n)]
            a = best_median(lambda r=rows: plog.log_predictions(w.engine, r), 60 if n == 1 else 15)
            b = best_median(lambda r=rows: appender.append(r), 60 if n == 1 else 15)
            out.append((f"{n} rows", a, b))
    finally:
        appender.close()
        w.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args(argv)
    print("training the ratings model on the shared E0 files …", flush=True)
    model, X = trained_champion()
    report: list[tuple[str, str, float, float]] = [("trees", *r) for r in trees(model, X)]
    with tempfile.TemporaryDirectory(prefix="soccer-bench-hot-") as tmp:
        report += [("log sqlite", *r) for r in log(f"sqlite:///{Path(tmp) / 'w.db'}", list(model.features))]
    import sqlalchemy as sa

    db = f"soccer_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{db}"'))
    except Exception as exc:  # no server: the SQLite figures stand alone
        print(f"PostgreSQL not measured ({type(exc).__name__}: {exc})")
    else:
        try:
            url = args.pg_admin.rsplit("/", 1)[0] + f"/{db}"
            report += [("log postgresql", *r) for r in log(url, list(model.features))]
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()
    print()
    print("| piece | size | replaced (ms) | hand-written (ms) | replaced / hand-written |")
    print("|---|---|---:|---:|---:|")
    for piece, size, a, b in report:
        print(f"| {piece} | {size} | {a * 1e3:.3f} | {b * 1e3:.3f} | {a / b:.1f}× |")
    print("\ntrees: XGBoost inplace_predict vs modeling.forest (bit-equal, checked); "
          "log: SQLAlchemy Core log_predictions vs storage.log_append.LogAppender")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
