"""Benchmark piece: server-side render time of the match board against one ``/v1/predict/batch`` call.

Called by ``bench/serving.py`` (which prepares the warehouse's team state and registers the
champions); not a test, no assertion on timing. :func:`board_vs_batch` stores ``n`` fixtures (E0
2023-24 pairings, dated from ``as_of`` on, with their opening prices as ``fixtures.csv`` would give
them) in the warehouse, builds the API in-process on the same settings and times, through ASGI
(no network, no client-side work: what the server spends):

* ``GET /board?league=E0``: read the fixtures, predict them with every board market and offer,
  render the HTML;
* ``POST /v1/predict/batch`` with the same fixtures as plain requests (1X2), and again with the
  board's markets and prices (what the board asks the predictor for).

Prints the medians side by side with the ratio board / batch. The board's fixtures replace the
warehouse's (``fixtures`` table): run it on a benchmark database.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd

from soccer_assets.core.schema import make_match_id
from soccer_assets.sources.parser import parse_season_csv


def bench_fixtures(season_file: Path, n: int, as_of: dt.date) -> pd.DataFrame:
    """``n`` E0 2023-24 pairings as fixture rows (results dropped; kick-off on or after ``as_of``)."""
    m = parse_season_csv(season_file.read_bytes(), "E0", "2023-24").matches
    m = m.sort_values("kickoff", kind="stable").reset_index(drop=True)
    later = m["date"].dt.date >= as_of
    m = pd.concat([m[later], m[~later]], ignore_index=True).head(n).copy()
    day = pd.Timestamp(as_of)
    m.loc[m["date"] < day, "kickoff"] = day + pd.Timedelta(hours=15)
    m.loc[m["date"] < day, "date"] = day
    m["match_id"] = [make_match_id("E0", "2023-24", h, a, d)
                     for h, a, d in zip(m["home_team"], m["away_team"], m["date"], strict=True)]
    m["kickoff_time_known"] = True
    return m.drop(columns=[c for c in ("fthg", "ftag", "ftr", "hthg", "htag", "htr") if c in m])


def _median_seconds(call: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def board_vs_batch(settings: Any, season_file: Path, *, n: int = 200, as_of: dt.date = dt.date(2024, 1, 1),
                   repeats: int = 5, verbose: bool = True) -> dict[str, float]:
    """Median seconds of the board and of one batch call for the same ``n`` fixtures, and the ratios.

    ``settings``: the API's ``ServingSettings`` (warehouse with E0 team state, registered champions);
    the batch limit is raised to ``n`` for the run.
    """
    from fastapi.testclient import TestClient

    from soccer_assets.storage.warehouse import Warehouse
    from soccer_serving import board as bd
    from soccer_serving.main import create_app

    fixtures = bench_fixtures(season_file, n, as_of)
    wh = Warehouse(settings.warehouse_url)
    wh.replace_fixtures(fixtures, source_sha256="bench")
    wh.dispose()
    settings = settings.model_copy(update={"batch_max_items": max(n, settings.batch_max_items),
                                           "protect_predict": False})
    _rows, bodies = bd.board_rows(fixtures.reset_index(drop=True))
    plain = [{k: v for k, v in b.items() if k not in ("markets", "prices")} for b in bodies]
    with TestClient(create_app(settings)) as client:
        def board() -> None:
            r = client.get("/board", params={"league": "E0"})
            assert r.status_code == 200 and r.text.count('class="fixture"') == n, r.status_code

        def batch(items: list[dict[str, Any]]) -> None:
            r = client.post("/v1/predict/batch", json={"matches": items})
            assert r.status_code == 200 and r.json()["n_ok"] == n, r.text[:300]

        board()
        batch(plain)  # warm-up: team states and memos cached, as in steady state
        out = {
            "board_s": _median_seconds(board, repeats),
            "batch_s": _median_seconds(lambda: batch(plain), repeats),
            "batch_markets_s": _median_seconds(lambda: batch(bodies), repeats),
        }
    out["board_over_batch"] = out["board_s"] / out["batch_s"]
    out["board_over_batch_markets"] = out["board_s"] / out["batch_markets_s"]
    if verbose:
        print(f"\nmatch board vs /v1/predict/batch, {n} fixtures, median of {repeats} "
              "(server side, in-process)")
        print(f"{'call':<42}{'median ms':>12}{'ratio':>10}")
        print(f"{'POST /v1/predict/batch (1x2)':<42}{1000 * out['batch_s']:>12.1f}{1.0:>10.2f}")
        print(f"{'POST /v1/predict/batch (board markets)':<42}{1000 * out['batch_markets_s']:>12.1f}"
              f"{out['batch_markets_s'] / out['batch_s']:>10.2f}")
        print(f"{'GET /board (render)':<42}{1000 * out['board_s']:>12.1f}{out['board_over_batch']:>10.2f}")
    return out
