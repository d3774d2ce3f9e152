"""``soccer evaluate``: walk-forward evaluation of one season from any football-data source.

    soccer evaluate --source <dir | file://dir | https://…> [--source …] --test-season 2023-24 \
        [--leagues E0,SP1] [--variant ratings|market] [--seed N] [--first-season 2012-13] \
        [--markets [--no-dixon-coles]] --json

Discovers every season of every requested league up to the test season that the source has,
parses them, builds the pre-match features, trains the model on the seasons before the test
season and prints one JSON object (the report of :func:`soccer_assets.modeling.evaluate.evaluate`
plus what was loaded and how long it took). This module is the only IO in the modelling path and
stays thin: listing and reading files, nothing else.

Discovery:

* a directory (plain path or ``file://``): every ``mmz4281/<code>/<DIV>.csv`` whose season is not
  after the test season; without ``--leagues``, the leagues are the files of the test season's
  folder (so an unseen directory with other leagues works);
* an ``http(s)://`` site or mirror (no directory listing): each season from ``--first-season``
  (default 2012-13) to the test season is requested per league (default: the configured leagues)
  and seasons that are not published (404) are skipped.

A training season that fails to parse is skipped and listed under ``source.skipped``; a test
season that is missing or fails to parse is an error. An extra league's ``new/<CODE>.csv`` is
split by season (ADR 0015); its rows in no season table are listed under ``source.set_aside``.

``--markets`` adds the ``markets`` and ``betting`` objects (:mod:`soccer_assets.modeling.market_eval`)
and, unless ``--no-dixon-coles``, scores the weekly-refitted Dixon–Coles baseline on the same rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from soccer_assets.config import load_config
from soccer_assets.core.names import VARIANTS
from soccer_assets.core.seasons import (
    FIRST_SEASON,
    season_key,
    seasons_between,
    validate_league,
)
from soccer_assets.sources.layout import is_extra_league, local_league_files, local_season_files
from soccer_assets.sources.league_file import split_league_file
from soccer_assets.sources.location import source_dir
from soccer_assets.sources.parser import ParseError, parse_season_csv

if TYPE_CHECKING:
    from soccer_assets.sources.client import FootballDataClient


class EvaluateError(RuntimeError):
    """The evaluation cannot run on this source (missing test season, no training data …)."""


def _discover_local(
    root: Path, test_season: str, leagues: list[str] | None, first_season: str | None,
    missing_ok: bool = False, every_league: bool = False,
) -> tuple[list[str], list[tuple[str, str, Path]]]:
    """The leagues to score and (league, season, file) of every season file under ``mmz4281/``
    and every season of every all-seasons file ``new/<CODE>.csv`` from ``first_season`` to
    ``test_season``: of the leagues to score, or of every league (``every_league``)."""
    base, extra = root / "mmz4281", root / "new"
    if not base.is_dir() and not extra.is_dir():
        raise EvaluateError(f"{root} has neither mmz4281/ nor new/ (expected mmz4281/<code>/<DIV>.csv "
                            "or new/<CODE>.csv)")
    # Ranks, not start years: the calendar season 2025 comes after 2024-25 and before 2025-26.
    test_rank = season_key(test_season)
    first_rank = season_key(first_season) if first_season else None

    def wanted_season(season: str) -> bool:
        rank = season_key(season)
        return rank <= test_rank and (first_rank is None or rank >= first_rank)

    found = [f for f in local_season_files(root) if wanted_season(f[1])]
    for league, file in local_league_files(root):
        found += [(league, s, file) for s in _league_file_seasons(file) if wanted_season(s)]
    if leagues is None:
        leagues = sorted({lg for lg, s, _ in found if s == test_season})
        if not leagues and not missing_ok:
            raise EvaluateError(f"{root} has no files for the test season {test_season}")
    wanted = set(leagues)
    return leagues, [f for f in found if every_league or f[0] in wanted]


_SPLIT_CACHE: dict[Path, dict[str, bytes]] = {}


def _league_file_seasons(path: Path) -> dict[str, bytes]:
    """The seasons of an all-seasons file, split once per process (the file is read once)."""
    if path not in _SPLIT_CACHE:
        try:
            _SPLIT_CACHE[path] = split_league_file(path.read_bytes())
        except ParseError as exc:
            raise EvaluateError(f"cannot split {path} by season: {exc}") from exc
    return _SPLIT_CACHE[path]


def _file_seasons(client: FootballDataClient, league: str, first: str | None, last: str) -> list[str]:
    """The seasons of an extra league's all-seasons file from ``first`` to ``last`` (by rank)."""
    from soccer_assets.sources.errors import SeasonNotPublished

    try:
        held = client.league_file_seasons(league)
    except SeasonNotPublished:
        return []
    lo = season_key(first) if first else None
    return [s for s in held if season_key(s) <= season_key(last) and (lo is None or season_key(s) >= lo)]


def _read(league: str, season: str, path: Path) -> bytes:
    return _league_file_seasons(path)[season] if path.parent.name == "new" else path.read_bytes()


def _load(
    sources: list[str], test_season: str, leagues: list[str] | None, first_season: str | None,
    train_all: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Every requested league-season from the sources, in order: a league-season one source has
    is not looked for in the later ones (two folders served together, e.g. the shared data and
    its ``football-data-more`` addition). ``train_all``: also every other league the local
    sources hold (to train on), reported under ``training_leagues``."""
    loaded: list[dict] = []
    skipped: list[dict] = []
    set_aside: list[dict] = []
    frames: list[pd.DataFrame] = []

    def add(league: str, season: str, data: bytes, where: str) -> None:
        try:
            parsed = parse_season_csv(data, league, season)
        except ParseError as exc:
            if season == test_season:
                raise EvaluateError(f"cannot parse the test season file {where}: {exc}") from exc
            skipped.append({"league": league, "season": season, "reason": str(exc)})
            return
        frames.append(parsed.matches)
        for reason, lines in (("unplayed", parsed.unplayed_lines), ("misdated", parsed.misdated_lines)):
            if lines:
                set_aside.append({"league": league, "season": season, "reason": reason,
                              "slice_lines": list(lines)})
        loaded.append({"league": league, "season": season, "rows": len(parsed.matches)})

    local = [(s, source_dir(s)) for s in sources]
    roots = [root for _s, root in local if root is not None]
    remote = [s for s, root in local if root is None]
    seen: set[tuple[str, str]] = set()
    if roots:
        found: list[tuple[str, str, Path]] = []
        found_leagues: list[str] = []
        for root in roots:
            root_leagues, files = _discover_local(root, test_season, None if train_all else leagues,
                                                  first_season, missing_ok=True, every_league=train_all)
            found_leagues += [lg for lg in root_leagues if lg not in found_leagues]
            found += files
        if leagues is None:
            if not found_leagues:
                raise EvaluateError(f"no source has files for the test season {test_season}")
            leagues = sorted(found_leagues)
        wanted = {lg for lg, _s, _p in found} if train_all else set(leagues)
        for league, season, path in found:
            if league in wanted and (league, season) not in seen:
                seen.add((league, season))
                add(league, season, _read(league, season, path), str(path))
    if remote:
        from soccer_assets.sources.client import FootballDataClient
        from soccer_assets.sources.fetch import fetch_seasons

        leagues = leagues or load_config().league_list()
        seasons = seasons_between(first_season or FIRST_SEASON, test_season)
        for source in remote:
            with FootballDataClient(source) as client:
                pairs = [(lg, se) for lg in leagues
                         for se in (_file_seasons(client, lg, first_season, test_season)
                                    if is_extra_league(lg) else seasons)
                         if (lg, se) not in seen]
                for item in fetch_seasons(client, pairs):
                    if item.not_published:
                        skipped.append({"league": item.league, "season": item.season, "reason": "404"})
                        continue
                    if item.error is not None:
                        raise item.error
                    assert item.result is not None
                    seen.add((item.league, item.season))
                    add(item.league, item.season, item.result.content, item.result.url)
    assert leagues is not None
    for league in leagues:
        if not any(x["league"] == league and x["season"] == test_season for x in loaded):
            raise EvaluateError(f"the source has no {test_season} file for league {league}")
    matches = pd.concat(frames, ignore_index=True)
    info = {
        "source": sources[0] if len(sources) == 1 else sources,
        "leagues": list(leagues),
        "training_leagues": sorted({x["league"] for x in loaded}),
        "seasons": sorted({x["season"] for x in loaded}, key=season_key),
        "files": len(loaded),
        "matches": len(matches),
        "skipped": skipped,
        # Rows of an all-seasons file in no season table (never played, or dated outside the season);
        # lines of the season's slice (split_league_file: header first), as a stored partition holds it.
        "set_aside": set_aside,
    }
    return matches, info


def run_evaluate(
    source: str | list[str],
    test_season: str,
    leagues: list[str] | None = None,
    variant: str = "ratings",
    seed: int = 0,
    first_season: str | None = None,
    markets: bool = False,
    dixon_coles: bool = True,
    train_leagues: str = "requested",
    country_carry: float = 0.0,
) -> dict:
    """Load, build features, train and evaluate; return the JSON-ready report.

    ``train_leagues="all"``: train on every league the (local) sources hold and score the
    requested ones (pooled training); ``"requested"``: train on the requested leagues only.
    ``country_carry``: ``FeatureParams.country_carry`` of the feature build (every loaded league is
    built together, so a promoted team's history in its old division is at hand)."""
    from soccer_assets.features.build import FeatureParams, build_match_features
    from soccer_assets.modeling.evaluate import evaluate

    season_key(test_season)
    if leagues is not None:
        leagues = [validate_league(lg) for lg in leagues]
    t0 = time.perf_counter()
    if train_leagues not in ("requested", "all"):
        raise EvaluateError(f"train_leagues must be 'requested' or 'all', got {train_leagues!r}")
    matches, info = _load([source] if isinstance(source, str) else list(source), test_season, leagues,
                          first_season, train_all=train_leagues == "all")
    t1 = time.perf_counter()
    features = build_match_features(matches, FeatureParams(country_carry=country_carry))
    t2 = time.perf_counter()
    dc = None
    if markets and dixon_coles:
        from soccer_assets.modeling.goals.dixon_coles import weekly_dixon_coles

        dc = weekly_dixon_coles(matches, test_season)
    t_dc = time.perf_counter()
    report = evaluate(features, matches, test_season, variant=variant, seed=seed, markets=markets,
                      dixon_coles=dc, score_leagues=info["leagues"])
    t3 = time.perf_counter()
    report["source"] = info
    report["country_carry"] = country_carry
    report["runtime_seconds"] = {
        "load": round(t1 - t0, 3),
        "features": round(t2 - t1, 3),
        "dixon_coles": round(t_dc - t2, 3),
        "train_and_evaluate": round(t3 - t_dc, 3),
        "total": round(t3 - t0, 3),
    }
    return report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="soccer evaluate",
        description="Walk-forward evaluation of one season against market and rating baselines.",
    )
    p.add_argument("--source", required=True, action="append",
                   help="directory, file:// or http(s):// base URL; repeat it to serve several "
                   "together (a league-season comes from the first source that has it)")
    p.add_argument("--test-season", required=True, help="season to evaluate, e.g. 2023-24")
    p.add_argument("--leagues", default=None, help="comma-separated, e.g. E0,SP1 (default: all)")
    p.add_argument("--variant", choices=VARIANTS, default="ratings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first-season", default=None, help="oldest season to load (default: all)")
    p.add_argument("--markets", action="store_true",
                   help="also score totals, Asian handicap, BTTS and correct score, and backtest value bets")
    p.add_argument("--no-dixon-coles", action="store_true",
                   help="with --markets: skip the weekly-refitted Dixon-Coles baseline")
    p.add_argument("--train-leagues", choices=("requested", "all"), default="requested",
                   help="train on the requested leagues only (default) or on every league the local "
                   "sources hold, scoring the requested ones")
    p.add_argument("--country-carry", type=float, default=0.0, metavar="W",
                   help="one rating scale per country: a team moving between two loaded divisions of "
                   "its country keeps this share (0-1) of its rating's gap to the teams it moved with")
    p.add_argument("--json", action="store_true", help="print the full report as one JSON object")
    return p


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _summary(report: dict) -> str:
    lines = [
        f"{report['variant']} model, test season {report['test_season']}, "
        f"leagues {','.join(report['leagues'])}",
        f"{'forecaster':<16}{'n':>6}{'rps':>9}{'logloss':>9}{'brier':>8}{'acc':>7}{'ece':>7}",
    ]
    for name, s in report["overall"].items():
        if not s.get("n"):
            lines.append(f"{name:<16}{0:>6}")
            continue
        lines.append(
            f"{name:<16}{s['n']:>6}{s['rps']:>9.4f}{s['log_loss']:>9.4f}{s['brier']:>8.4f}"
            f"{s['accuracy']:>7.3f}{s['ece']:>7.3f}"
        )
    if "markets" in report:
        lines.append("")
        lines.append(f"{'market':<16}{'forecaster':<14}{'n':>6}{'logloss':>9}{'brier':>8}")
        for market in ("totals_2.5", "asian_handicap", "btts", "correct_score"):
            for name, s in report["markets"][market].items():
                if s.get("n"):
                    brier = f"{s['brier']:>8.4f}" if "brier" in s else ""
                    lines.append(f"{market:<16}{name:<14}{s['n']:>6}{s['log_loss']:>9.4f}{brier}")
        lines.append(f"grid 1X2 max |diff| {report['markets']['grid_1x2_max_abs_diff']:.2e}")
        lines.append("")
        lines.append(f"{'bets (flat)':<16}{'n':>6}{'roi':>8}{'roi 95% CI':>18}{'clv':>8}{'beat':>6}")
        for market, b in report["betting"].items():
            if not b["n_bets"]:
                lines.append(f"{market:<16}{0:>6}")
                continue
            lo, hi = b["roi_ci95"]
            ci = f"[{_num(lo, '.3f')}, {_num(hi, '.3f')}]"
            lines.append(f"{market:<16}{b['n_bets']:>6}{_num(b['roi'], '.3f'):>8}{ci:>18}"
                         f"{_num(b['clv_mean'], '.4f'):>8}{_num(b['clv_beat_rate'], '.2f'):>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    leagues = [x.strip() for x in args.leagues.split(",") if x.strip()] if args.leagues else None
    try:
        report = run_evaluate(
            args.source, args.test_season, leagues, args.variant, args.seed, args.first_season,
            markets=args.markets, dixon_coles=not args.no_dixon_coles, train_leagues=args.train_leagues,
            country_carry=args.country_carry,
        )
    except (EvaluateError, ValueError) as exc:
        print(f"soccer evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, sort_keys=False) if args.json else _summary(report))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
