"""The per-league table of docs/results.md (every league of both shared folders, pooled training)
is current and says what its figures say.

Re-running its three pooled evaluations costs minutes, so the table's JSON carries a hash of what
the figures depend on (the evaluation code, uv.lock, every data file): a change to any of them
without `scripts/results.py --every-league` fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.soccer_assets.modeling.conftest import results_script

ROOT = Path(__file__).resolve().parents[3]
REGENERATE = "run `uv run python scripts/results.py --every-league ../shared/data`"


@pytest.fixture(scope="module")
def results():
    return results_script()


@pytest.fixture(scope="module")
def table(results) -> dict:
    return json.loads(results.EVERY_LEAGUE_JSON.read_text())


def test_the_figures_were_computed_from_todays_code_and_data(results, table, shared_data):
    root = shared_data.parent
    if not (root / "football-data-more" / "new").is_dir():
        pytest.skip("football-data-more is not here")
    assert table["inputs"] == results.every_league_inputs(root), (
        "docs/data/every_league.json is stale (the evaluation code, uv.lock or the data changed): "
        + REGENERATE)


def test_the_inputs_hash_moves_with_the_code_and_the_data(results, shared_data, tmp_path, monkeypatch):
    """The staleness check above can fail: one changed byte of a data file or of the code moves it."""
    root = tmp_path / "data"
    for folder in results.DATA_FOLDERS:
        (root / folder / "mmz4281" / "2324").mkdir(parents=True)
    csv = root / "football-data" / "mmz4281" / "2324" / "E0.csv"
    csv.write_bytes((shared_data / "mmz4281" / "2324" / "E0.csv").read_bytes())
    before = results.every_league_inputs(root)
    csv.write_bytes(csv.read_bytes() + b"\n")
    assert results.every_league_inputs(root) != before
    code = tmp_path / "repo"
    for entry in results.EVERY_LEAGUE_CODE:
        src = ROOT / entry
        for f in sorted(src.rglob("*.py")) if src.is_dir() else [src]:
            dst = code / f.relative_to(ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(f.read_bytes())
    monkeypatch.setattr(results, "ROOT", code)
    same = results.every_league_inputs(root)
    (code / "soccer_assets" / "modeling" / "metrics.py").write_text("# changed\n", encoding="utf-8")
    assert results.every_league_inputs(root) != same


def test_the_doc_renders_the_json_and_covers_every_league(results, table):
    doc = (ROOT / "docs" / "results.md").read_text()
    section = results.render_every_league(table)
    assert doc.endswith(section), f"docs/results.md's every-league section is not the JSON's: {REGENERATE}"
    leagues = [r["league"] for r in table["rows"]]
    assert len(leagues) == len(set(leagues)) == 28
    assert set(leagues) == {lg for _season, lgs in results.EVERY_LEAGUE_RUNS for lg in lgs}
    for r in table["rows"]:
        vs = r["vs"]["elo"]
        assert vs["rps_diff"] == pytest.approx(r["rps"]["model"] - r["rps"]["elo"], abs=1e-12)
        assert vs["ci95"][0] <= vs["rps_diff"] <= vs["ci95"][1]
        assert r["n"] > 150 and r["training_leagues"] == 28
        verdict = "yes" if r["rps"]["model"] < min(r["rps"]["elo"], r["rps"]["climatology"]) else "no"
        row = next(ln for ln in section.splitlines() if ln.startswith(f"| {r['league']} |"))
        assert row.endswith(f"| {verdict} |")
    # The carried-rating comparison: the same matches, both starts, figures as in the JSON.
    proxy, carried = table["entrants"]["table_proxy"], table["entrants"]["carried"]
    assert proxy["model"]["n"] == carried["model"]["n"] == proxy["elo"]["n"] > 1000
    assert table["country_carry"] == results.COUNTRY_CARRY > 0
    assert f"| carried rating | {carried['model']['n']} | {carried['model']['rps']:.4f} |" in section


def test_the_summary_counts_what_the_table_shows(results, table):
    rows = table["rows"]
    wins = sum(r["rps"]["model"] < min(r["rps"]["elo"], r["rps"]["climatology"]) for r in rows)
    text = results.render_every_league(table)
    assert f"below Elo's and climatology's in {wins} of {len(rows)} leagues" in text
    made_up = json.loads(json.dumps(table))
    for r in made_up["rows"]:
        r["rps"]["model"] = r["rps"]["elo"] + 0.01
        r["vs"]["elo"] = {"rps_diff": 0.01, "ci95": [0.005, 0.015], "share_below": 0.0}
    text = results.render_every_league(made_up)
    assert "in 0 of 28 leagues" in text
    assert "0 of 28 gaps to Elo are inside their 95% interval, and in B1, D1," in text
    assert "cannot tell the two apart" not in text
