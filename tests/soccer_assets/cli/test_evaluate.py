"""``soccer evaluate`` on a directory it has never seen: other leagues, a newer season, a BOM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soccer_assets.cli.evaluate import _load, main, run_evaluate
from soccer_assets.core.seasons import season_to_code
from tests.support.mirror import Mirror


def _copy(src: Path, dst: Path, div: str | None = None, bom: bool = False) -> None:
    data = src.read_bytes()
    if div is not None:  # relabel the league: every data row starts with its Div code
        old = data.split(b",", 1)[1].split(b"\n", 1)[1].split(b",", 1)[0]
        lines = data.split(b"\n")
        data = b"\n".join(
            [lines[0], *(div.encode() + ln[len(old) :] if ln.startswith(old) else ln for ln in lines[1:])]
        )
    if bom:
        data = b"\xef\xbb\xbf" + data
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)


@pytest.fixture(scope="module")
def unseen_dir(shared_data: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unseen")
    src = shared_data / "mmz4281"
    for season in ("2020-21", "2021-22", "2022-23"):
        code = season_to_code(season)
        bom = season == "2022-23"  # the test season in the newer layout with a UTF-8 BOM
        _copy(src / code / "E0.csv", root / "mmz4281" / code / "E0.csv", bom=bom)
        # a league the defaults do not know, made from Serie A files
        _copy(src / code / "I1.csv", root / "mmz4281" / code / "N1.csv", div="N1", bom=bom)
    # a newer season than the test season must be ignored, not loaded
    _copy(src / "2324" / "E0.csv", root / "mmz4281" / "2324" / "E0.csv", bom=True)
    (root / "mmz4281" / "2324" / "README.txt").write_text("not a season file")
    (root / "mmz4281" / "latest").mkdir()
    return root


def test_cli_discovers_leagues_and_seasons(unseen_dir: Path, capsys):
    code = main(
        [
            "--source",
            str(unseen_dir),
            "--test-season",
            "2022-23",
            "--variant",
            "market",
            "--seed",
            "1",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["leagues"] == ["E0", "N1"]
    assert report["source"]["seasons"] == ["2020-21", "2021-22", "2022-23"]
    assert report["source"]["files"] == 6 and report["source"]["skipped"] == []
    assert report["split"]["n_test"] == 380 * 2
    assert report["split"]["n_excluded_future"] == 0  # 2023-24 was never loaded
    assert report["variant"] == "market" and report["seed"] == 1
    assert report["overall"]["model"]["n"] == 760
    # the market model is the opening market plus small corrections
    assert abs(report["paired"]["pinnacle_open"]["rps_diff"]) < 0.005


def test_cli_file_url_and_league_filter(unseen_dir: Path):
    report = run_evaluate(unseen_dir.as_uri(), "2022-23", ["N1"], "ratings", 0)
    assert report["leagues"] == ["N1"] and report["source"]["files"] == 3
    assert set(report["by_league"]) == {"N1"}


def test_cli_errors_are_reported(unseen_dir: Path, capsys):
    assert main(["--source", str(unseen_dir), "--test-season", "2024-25", "--json"]) == 2
    assert "2024-25" in capsys.readouterr().err
    assert main(["--source", str(unseen_dir), "--test-season", "2022-23", "--leagues", "SP1"]) == 2
    assert "SP1" in capsys.readouterr().err


def test_cli_over_http_skips_unpublished_seasons(unseen_dir: Path):
    from tests.support.mirror import Mirror

    with Mirror(unseen_dir) as mirror:
        report = run_evaluate(mirror.url, "2022-23", ["E0"], "market", 0, first_season="2019-20")
    assert report["source"]["seasons"] == ["2020-21", "2021-22", "2022-23"]
    assert report["source"]["skipped"] == [{"league": "E0", "season": "2019-20", "reason": "404"}]
    assert report["overall"]["model"]["n"] == 380


def test_cli_markets_report_has_the_documented_keys_and_a_readable_summary(unseen_dir: Path, capsys):
    args = ["--source", str(unseen_dir), "--test-season", "2022-23", "--leagues", "E0", "--markets"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    markets, betting = report["markets"], report["betting"]
    for market in ("totals_2.5", "asian_handicap"):
        assert set(markets[market]) >= {"model", "market_open", "market_close", "dixon_coles"}
        for who in ("model", "market_open", "market_close"):
            assert set(markets[market][who]) >= {"n", "log_loss", "brier"}
    assert set(markets["btts"]["model"]) >= {"n", "log_loss", "brier"}
    assert set(markets["correct_score"]["model"]) >= {"n", "log_loss"}
    assert markets["grid_1x2_max_abs_diff"] <= 0.002
    assert set(betting) == {"1x2", "totals_2.5", "asian_handicap"}
    for entry in betting.values():
        assert set(entry) >= {"n_bets", "staked", "profit", "roi", "roi_ci95", "clv_mean", "clv_beat_rate",
                              "max_drawdown"}
    assert report["runtime_seconds"]["dixon_coles"] > 0
    assert main([*args, "--no-dixon-coles"]) == 0
    text = capsys.readouterr().out
    assert "totals_2.5" in text and "bets (flat)" in text and "dixon_coles" not in text


def test_two_folders_served_together_evaluate_the_new_divisions(shared_data: Path, capsys):
    """The shared folder and its ``football-data-more`` addition as two sources: the Scottish
    Premiership (the split: pairings met twice a season, which crashed the merge on a key without
    the date) and the National League (a code without a level, Windows-1252 files)."""
    more = shared_data.parent / "football-data-more"
    if not (more / "mmz4281").is_dir():
        pytest.skip("football-data-more is not here")
    code = main(["--source", str(shared_data), "--source", more.as_uri(), "--test-season", "2023-24",
                 "--leagues", "SC0,EC", "--json"])
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["leagues"] == ["EC", "SC0"]
    assert report["source"]["source"] == [str(shared_data), more.as_uri()]
    assert report["source"]["seasons"] == ["2019-20", "2020-21", "2021-22", "2022-23", "2023-24"]
    assert report["source"]["files"] == 10
    assert {lg: s["model"]["n"] for lg, s in report["by_league"].items()} == {"EC": 552, "SC0": 228}
    # One run over leagues of either folder.
    both = run_evaluate([str(shared_data), str(more)], "2023-24", ["E0", "E2"], "ratings", 0,
                        first_season="2021-22")
    assert both["source"]["files"] == 6 and set(both["by_league"]) == {"E0", "E2"}


@pytest.mark.slow
def test_pooled_training_scores_the_requested_division_better_than_training_on_it_alone(shared_data: Path):
    """``--train-leagues all``: the model and the baselines learn from all 20 divisions of both
    folders and the 8 extra leagues (the Scottish Premiership has five seasons of its own) and only
    SC0 is scored."""
    more = shared_data.parent / "football-data-more"
    if not (more / "mmz4281").is_dir():
        pytest.skip("football-data-more is not here")
    sources = [str(shared_data), str(more)]
    # From 2021-22 (train 2021-22, validate 2022-23): the pooling is the point, not the history.
    alone = run_evaluate(sources, "2023-24", ["SC0"], "ratings", 0, first_season="2021-22")
    pooled = run_evaluate(sources, "2023-24", ["SC0"], "ratings", 0, first_season="2021-22",
                          train_leagues="all")
    assert alone["source"]["training_leagues"] == ["SC0"]
    assert len(pooled["source"]["training_leagues"]) == 28 and pooled["leagues"] == ["SC0"]
    assert set(pooled["by_league"]) == {"SC0"} and pooled["overall"]["model"]["n"] == 228
    assert pooled["split"]["n_test"] == 228
    assert pooled["split"]["n_train"] > 10 * alone["split"]["n_train"]
    assert pooled["overall"]["model"]["rps"] < alone["overall"]["model"]["rps"]
    with pytest.raises(Exception, match="train_leagues"):
        run_evaluate(sources, "2023-24", ["SC0"], train_leagues="some")


def test_an_extra_league_evaluates_its_last_calendar_season_locally_and_over_http(shared_data: Path):
    """IRL (``new/IRL.csv``, calendar-year seasons): the test season 2025 is the file's last
    complete one; 2026 (in progress) is after it and never loaded."""
    more = shared_data.parent / "football-data-more"
    if not (more / "new").is_dir():
        pytest.skip("football-data-more is not here")
    report = run_evaluate([str(shared_data), str(more)], "2025", ["IRL"], "ratings", 0,
                          first_season="2019")
    assert report["source"]["seasons"] == ["2019", "2020", "2021", "2022", "2023", "2024", "2025"]
    assert report["overall"]["model"]["n"] == 180 and report["split"]["n_test"] == 180
    assert report["overall"]["model"]["rps"] < report["overall"]["climatology"]["rps"]
    assert report["overall"]["pinnacle_close"]["n"] > 0 and report["overall"]["pinnacle_open"]["n"] == 0
    with Mirror(more) as mirror:
        remote = run_evaluate(mirror.url, "2025", ["IRL"], "ratings", 0, first_season="2019")
        assert len(mirror.requests_for("/new/IRL.csv")) == 1
    assert remote["source"]["seasons"] == report["source"]["seasons"]
    assert remote["overall"]["model"] == report["overall"]["model"]
    assert report["source"]["set_aside"] == []
    # BRA 2016's unplayed match is reported, not silently dropped (the evaluation still runs).
    bra = _load([str(more)], "2016", ["BRA"], "2015", train_all=False)[1]
    assert bra["set_aside"] == [{"league": "BRA", "season": "2016", "reason": "unplayed",
                                  "slice_lines": [373]}]


def test_country_carry_changes_only_the_entrants_starting_ratings(shared_data: Path, capsys):
    """``--country-carry 1`` on E0 + E1: the teams promoted into E0 (and relegated into E1) start
    from their carried ratings, so the entrants' matches are scored differently; the report says
    which start was used and a bad share is refused."""
    base = ["--source", str(shared_data), "--test-season", "2023-24", "--leagues", "E0,E1",
            "--first-season", "2021-22", "--json"]
    assert main(base) == 0
    proxy = json.loads(capsys.readouterr().out)
    assert main([*base, "--country-carry", "1"]) == 0
    carried = json.loads(capsys.readouterr().out)
    assert (proxy["country_carry"], carried["country_carry"]) == (0.0, 1.0)
    n = proxy["entrant_matches"]["model"]["n"]
    assert n == carried["entrant_matches"]["model"]["n"] and 300 < n < proxy["overall"]["model"]["n"]
    assert carried["entrant_matches"]["elo"]["rps"] != proxy["entrant_matches"]["elo"]["rps"]
    assert main([*base, "--country-carry", "-0.5"]) == 2
    assert "country_carry" in capsys.readouterr().err
