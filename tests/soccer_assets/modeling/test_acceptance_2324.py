"""Acceptance figures of the 2023-24 walk-forward evaluation on all six shared leagues."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def _results_module():
    spec = importlib.util.spec_from_file_location("results", ROOT / "scripts" / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reports(shared_data):
    results = _results_module()
    return results, {v: results.evaluate(str(shared_data), "2023-24", v) for v in ("ratings", "market")}


def test_ratings_model_beats_elo_and_climatology(reports):
    _, r = reports
    overall = r["ratings"]["overall"]
    assert overall["model"]["n"] == 2304
    assert overall["model"]["rps"] < overall["elo"]["rps"]
    assert overall["model"]["rps"] < overall["climatology"]["rps"]
    assert overall["model"]["rps"] <= 0.2015


def test_market_model_is_within_a_thousandth_of_pinnacle_opening(reports):
    _, r = reports
    paired = r["market"]["paired"]["pinnacle_open"]
    assert paired["n"] == 2304
    assert paired["model_rps"] <= paired["baseline_rps"] + 0.001


def test_reruns_are_identical_and_docs_are_current(reports, shared_data):
    results, r = reports
    again = results.evaluate(str(shared_data), "2023-24", "market")
    assert again["overall"] == r["market"]["overall"]
    assert (ROOT / "docs" / "results.md").read_text() == results.render(r, "2023-24"), (
        "docs/results.md is stale: run "
        "`uv run python scripts/results.py ../shared/data/football-data 2023-24`"
    )
