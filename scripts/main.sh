#!/usr/bin/env bash
# The main job, end to end on embedded defaults: SQLite Dagster storage in .dagster_home/,
# a SQLite warehouse and Parquet files in ./data. Extra arguments go to `soccer pipeline`
# (e.g. --source ../shared/data/football-data --leagues E0,SP1). It prints one line per stage and the
# summary; Dagster's event log goes to data/logs/pipeline-<UTC time>.log (--verbose: also to stderr).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
# An instance config of its own: the root dagster.yaml is the PostgreSQL one.
[ -f "$DAGSTER_HOME/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
exec uv run --frozen soccer pipeline "$@"
