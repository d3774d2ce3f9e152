#!/usr/bin/env bash
# The Dagster UI (webserver + daemon, `dg dev`) on the main job's instance: SQLite Dagster storage in
# .dagster_home/ (or $DAGSTER_HOME) and the settings of the environment (SOCCER_DATA_DIR, default
# ./data). Extra arguments go to `dg dev` (e.g. --port 3001, --host 0.0.0.0). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/embedded_instance.sh
exec uv run --frozen dg dev "$@"
