#!/usr/bin/env bash
# Starts the prediction API (port 8000) and a job worker against the main job's results:
# the warehouse and MLflow registry under ./data (or $SOCCER_DATA_DIR) and Redis on localhost.
# Stop both with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
export SOCCER_DATA_DIR="${SOCCER_DATA_DIR:-$PWD/data}"
export SOCCER_WAREHOUSE_URL="${SOCCER_WAREHOUSE_URL:-sqlite:///$SOCCER_DATA_DIR/warehouse.db}"
export SOCCER_MLFLOW_TRACKING_URI="${SOCCER_MLFLOW_TRACKING_URI:-sqlite:///$SOCCER_DATA_DIR/mlflow.db}"
export SOCCER_REDIS_URL="${SOCCER_REDIS_URL:-redis://127.0.0.1:6379/0}"
# Local use on 127.0.0.1: without keys the job and admin routes would answer 403 (auth fails
# closed); this turns auth off explicitly (/ready says so). Set SOCCER_API_KEYS and
# SOCCER_ADMIN_API_KEYS (and SOCCER_AUTH_DISABLED=false) to serve anywhere else.
if [ -z "${SOCCER_API_KEYS:-}${SOCCER_ADMIN_API_KEYS:-}" ]; then
  export SOCCER_AUTH_DISABLED="${SOCCER_AUTH_DISABLED:-true}"
fi
uv run --frozen soccer worker --threads 2 &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT
uv run --frozen soccer serve --host 127.0.0.1 --port "${SOCCER_PORT:-8000}"
