"""``soccer`` command line: the main job and the operational commands.

Dagster is imported inside the commands that need it, so ``soccer serve`` stays Dagster-free.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from soccer_assets.config import SoccerConfig, load_config
from soccer_assets.core.seasons import (
    DEFAULT_LEAGUES,
    FIRST_SEASON,
    is_calendar_season,
    partition_key,
    seasons_between,
    seasons_with_years_between,
    validate_league,
)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _source_to_url(source: str) -> str:
    """Accept a plain directory for ``--source`` and turn it into a ``file://`` URL."""
    from soccer_assets.sources.location import to_source_url

    try:
        return to_source_url(source)
    except ValueError as exc:
        raise SystemExit(f"--source {exc}") from None


def _add_pipeline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pipeline",
        help="materialize the pipeline for a set of league-season partitions and print a summary",
        description="Materialize the pipeline for a set of league-season partitions and print a summary. "
        "While it runs, one line per finished stage (with a spinner on a terminal); Dagster's event "
        "log and the dagster/mlflow/alembic loggers go to <data dir>/logs/pipeline-<UTC time>.log, "
        "whose path is printed first.",
    )
    p.add_argument("--leagues", type=_csv, default=list(DEFAULT_LEAGUES),
                   help="comma-separated codes, or 'all': every division the (local) sources hold "
                   "(default: the six main leagues)")
    p.add_argument("--first-season", default=FIRST_SEASON)
    p.add_argument("--last-season", default="2023-24")
    p.add_argument(
        "--source",
        default=None,
        action="append",
        help="base URL (https://, http:// mirror, file://) or a directory in the site's layout; "
        "repeat it to serve several together (a file comes from the first that has it); "
        "default $SOCCER_SOURCE_URL or https://www.football-data.co.uk",
    )
    p.add_argument(
        "--test-seasons",
        type=_csv,
        default=None,
        help="seasons to evaluate walk-forward (comma separated; default: the last season; "
        "'none' to skip)",
    )
    p.add_argument("--no-champion", action="store_true", help="skip training/registering the champion")
    p.add_argument(
        "--allow-fewer-matches",
        action="store_true",
        help="accept a season file with fewer matches than the stored copy (a correction by the source; "
        "logged). Without it such a file fails its partition and nothing stored is replaced",
    )
    p.add_argument(
        "--per-partition",
        action="store_true",
        help="one Dagster run per league-season instead of one run per contiguous range (slower; "
        "what Dagster's default backfill does)",
    )
    p.add_argument("--data-dir", default=None, help="default $SOCCER_DATA_DIR or ./data")
    p.add_argument("--warehouse-url", default=None, help="default $SOCCER_WAREHOUSE_URL or SQLite")
    p.add_argument(
        "-v", "--verbose",
        action="store_true",
        help="also stream Dagster's event log and the MLflow logs to the terminal (stderr), as Dagster "
        "does by default; the log file <data dir>/logs/pipeline-<UTC time>.log is written either way",
    )
    p.set_defaults(func=cmd_pipeline)


def pipeline_config(args: argparse.Namespace) -> SoccerConfig:
    """The settings of a ``soccer pipeline`` run: the environment's, with the command's options on top.

    The partitions must hold the requested league-seasons: leagues and last season come from the
    options unless the environment sets them (then the code location's partitions are those).
    """
    base = load_config()
    overrides: dict[str, object] = {}
    if args.source:
        urls = [_source_to_url(x) for x in args.source]
        overrides["source_url"] = urls[0]
        overrides["more_source_urls"] = ",".join(urls[1:])
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir).resolve()
    if args.warehouse_url:
        overrides["warehouse_url"] = args.warehouse_url
    if "leagues" not in base.model_fields_set:
        overrides["leagues"] = ",".join(args.leagues)
    if "last_season" not in base.model_fields_set:
        overrides["last_season"] = args.last_season
    return load_config(**overrides)


def held_league_seasons(urls: list[str], seasons: list[str]) -> dict[str, list[str]]:
    """Every league's seasons among ``seasons`` that the local sources hold (``--leagues all``):
    the divisions' season files, and the seasons of the extra leagues' all-seasons files (split
    seasons such as MEX's ``2023-24``, calendar years such as ARG's ``2023``).

    http(s) sources cannot be listed.
    """
    from soccer_assets.sources.layout import local_league_files, local_season_files
    from soccer_assets.sources.league_file import split_league_file
    from soccer_assets.sources.location import file_url_path
    from soccer_assets.sources.parser import ParseError

    held: dict[str, set[str]] = {}
    for url in urls:
        root = file_url_path(url)
        if root is None:
            raise SystemExit(f"--leagues all lists the sources' files: {url} is not a local directory "
                             "(name the leagues instead)")
        for league, season, _path in local_season_files(root):
            if season in seasons:
                held.setdefault(league, set()).add(season)
        for league, path in local_league_files(root):
            if league in held:  # the first source's file
                continue
            try:
                in_file = split_league_file(path.read_bytes())
            except ParseError as exc:
                raise SystemExit(f"--leagues all: {path} is not a valid all-seasons file: {exc}") from None
            if found := {s for s in in_file if s in seasons}:
                held[league] = found
    if not held:
        raise SystemExit(f"--leagues all: no source holds a season file of {seasons[0]}..{seasons[-1]}")
    return {lg: [s for s in seasons if s in held[lg]] for lg in sorted(held)}


def cmd_pipeline(args: argparse.Namespace) -> int:
    seasons = seasons_between(args.first_season, args.last_season)
    held: dict[str, list[str]] | None = None
    if args.leagues == ["all"]:
        if args.source:
            urls = [_source_to_url(x) for x in args.source]
        else:
            env = load_config()
            urls = [env.source_url, *env.more_source_url_list()]
        held = held_league_seasons(urls, seasons_with_years_between(args.first_season, args.last_season))
        args.leagues = list(held)
    leagues = [validate_league(x) for x in args.leagues]
    config = pipeline_config(args)

    from soccer_assets.cli.pipeline import run_with_progress

    if held is None:
        keys = [partition_key(league, season) for season in seasons for league in leagues]
    else:
        # Only what the sources hold: the 14 further divisions start in 2019-20, the calendar-year
        # leagues' seasons are years.
        every = seasons_with_years_between(args.first_season, args.last_season)
        keys = [partition_key(lg, s) for s in every for lg in leagues if s in held[lg]]
        def of_kind(season: str) -> list[str]:
            return [s for s in every if is_calendar_season(s) == is_calendar_season(season)]

        for lg in leagues:
            first, last = held[lg][0], held[lg][-1]
            if first != of_kind(first)[0] or last != of_kind(last)[-1]:
                print(f"{lg}: the sources hold {first}..{last} of {seasons[0]}..{seasons[-1]}")
    test_seasons = args.test_seasons if args.test_seasons is not None else seasons[-1:]
    if test_seasons == ["none"]:
        test_seasons = []
    started = time.perf_counter()
    summary = run_with_progress(
        config, keys, test_seasons=test_seasons, champion=not args.no_champion,
        bulk=not args.per_partition, verbose=args.verbose, allow_fewer_matches=args.allow_fewer_matches,
    )
    print()
    print(summary.render())
    print(f"\n{len(keys)} partitions in {time.perf_counter() - started:.1f} s")
    return 0 if summary.ok else 1


def _add_snapshot(sub: argparse._SubParsersAction) -> None:
    """``soccer snapshot fetch|hash|build``: the DVC-pinned raw data (docs/dvc.md)."""
    p = sub.add_parser("snapshot", help="pinned raw-data snapshots for DVC: fetch, hash, build from one")
    actions = p.add_subparsers(dest="action", required=True)
    f = actions.add_parser("fetch", help="copy the season files from a source into a snapshot directory")
    f.add_argument("--source", default=None,
                   help="base URL or directory in the site's layout; default $SOCCER_SOURCE_URL or the site")
    f.add_argument("--out", default="snapshot/football-data")
    f.add_argument("--leagues", type=_csv, default=list(DEFAULT_LEAGUES))
    f.add_argument("--first-season", default=FIRST_SEASON)
    f.add_argument("--last-season", default="2023-24")
    h = actions.add_parser("hash", help="print the md5 DVC records for a snapshot directory")
    h.add_argument("directory", nargs="?", default="snapshot/football-data")
    b = actions.add_parser("build", help="run the pipeline offline on a snapshot; export models and metrics")
    b.add_argument("--snapshot", default="snapshot/football-data")
    b.add_argument("--work", default="build/dvc", help="stage-local Dagster home, data dir and MLflow store")
    b.add_argument("--leagues", type=_csv, required=True)
    b.add_argument("--first-season", required=True)
    b.add_argument("--last-season", required=True)
    b.add_argument("--test-seasons", type=_csv, required=True)
    b.add_argument("--models", default="models")
    b.add_argument("--metrics", default="metrics")
    p.set_defaults(func=cmd_snapshot)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from soccer_assets.cli import snapshot

    try:
        if args.action == "hash":
            print(snapshot.dvc_dir_md5(Path(args.directory)))
            return 0
        if args.action == "fetch":
            source = _source_to_url(args.source) if args.source else load_config().source_url
            report = snapshot.fetch_snapshot(
                source, Path(args.out), args.leagues, seasons_between(args.first_season, args.last_season)
            )
            for item in report.files:
                print(f"{item.relpath:<22} {item.rows:>5} matches {item.size:>9} bytes")
            for relpath in report.not_published:
                print(f"{relpath:<22} not published by the source (skipped)")
            print(f"{len(report.files)} files in {args.out}; DVC md5 {report.md5}")
            return 0
        test_seasons = [] if args.test_seasons == ["none"] else args.test_seasons
        return snapshot.build_from_snapshot(
            Path(args.snapshot), Path(args.work), args.leagues, args.first_season, args.last_season,
            test_seasons, Path(args.models), Path(args.metrics),
        )
    except snapshot.SnapshotError as exc:
        print(f"soccer snapshot {args.action}: {exc}", file=sys.stderr)
        return 2


# Other packages add subcommands here (pyproject.toml: [project.entry-points."soccer.commands"]).
COMMAND_GROUP = "soccer.commands"


def plugin_commands() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=COMMAND_GROUP)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soccer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_pipeline(sub)
    _add_snapshot(sub)
    sub.add_parser(
        "evaluate", help="walk-forward evaluation of a test season (soccer evaluate --help)", add_help=False
    ).set_defaults(func=None)
    plugins = plugin_commands()
    for name, entry in plugins.items():
        text = f"added by {entry.module.split('.')[0]} (soccer {name} --help)"
        sub.add_parser(name, help=text, add_help=False).set_defaults(func=None)
    args, rest = parser.parse_known_args(argv)
    if args.command == "evaluate":
        from soccer_assets.cli.evaluate import main as evaluate_main

        return evaluate_main(rest)
    if args.command in plugins:
        # Found through the entry point, never imported by name: soccer_assets does not depend on
        # the packages that add commands (soccer_serving adds `serve` and `worker`).
        return int(plugins[args.command].load()(rest) or 0)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
