# Sourced by scripts/main.sh and scripts/ui.sh: the environment and the embedded Dagster instance
# they share (SQLite storage in .dagster_home/, or $DAGSTER_HOME). The root dagster.yaml is the
# PostgreSQL one, so the embedded instance gets a config of its own.
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
