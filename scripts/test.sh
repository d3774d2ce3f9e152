#!/usr/bin/env bash
# The whole test suite. Installs what it needs and starts PostgreSQL/Redis if they are not up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
bash scripts/services.sh
uv run --frozen ruff check .
# The code location loads as `dg` loads it (dg check defs), on a throw-away embedded instance: the
# root dagster.yaml is the PostgreSQL one.
dg_home=$(mktemp -d)
trap 'rm -rf "$dg_home"' EXIT
printf 'telemetry:\n  enabled: false\n' > "$dg_home/dagster.yaml"
DAGSTER_HOME="$dg_home" uv run --frozen dg check defs
uv run --frozen pytest "$@"
