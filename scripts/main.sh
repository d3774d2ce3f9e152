#!/usr/bin/env bash
# The main job, end to end on embedded defaults: SQLite Dagster storage in .dagster_home/,
# a SQLite warehouse and Parquet files in ./data. Extra arguments go to `soccer pipeline`
# (e.g. --source ../shared/data/football-data --leagues E0,SP1). It prints one line per stage and the
# summary; Dagster's event log goes to data/logs/pipeline-<UTC time>.log (--verbose: also to stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/embedded_instance.sh
exec uv run --frozen soccer pipeline "$@"
