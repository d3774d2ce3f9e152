#!/usr/bin/env bash
# Runs DVC from its own tool environment, e.g. `bash scripts/dvc.sh repro`.
#
# DVC lives in a separate virtualenv (.tools/dvc, or $SOCCER_DVC_VENV), installed from PyPI with the
# hash-locked tools/dvc/requirements.txt, never in the project's .venv: dvc pulls hydra-core, which
# pins antlr4-python3-runtime 4.9.*, and Dagster's asset-selection parser needs 4.13.
# The environment is (re)built whenever requirements.txt changes. `scripts/dvc.sh --install-only`
# only builds it (scripts/bootstrap.sh does that).
#
# The pipeline's stage commands call `python`: the project's .venv (or $SOCCER_VENV) goes first on
# PATH so that they run the project's locked environment, not DVC's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SOCCER_DVC_VENV:-$root/.tools/dvc}"
requirements="$root/tools/dvc/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/dvc" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! command -v uv >/dev/null 2>&1; then
    export PATH="$HOME/.local/bin:$PATH"
  fi
  command -v uv >/dev/null 2>&1 || { echo "scripts/dvc.sh: uv is needed (bash scripts/bootstrap.sh)" >&2; exit 1; }
  echo "scripts/dvc.sh: installing DVC into $venv" >&2
  rm -rf "$venv"
  uv venv --quiet --no-python-downloads --python 3.11 "$venv"
  # PyPI only, every file checked against the lock's hashes.
  uv pip install --quiet --python "$venv/bin/python" --require-hashes --no-deps \
    --index-url https://pypi.org/simple -r "$requirements"
  echo "$want" > "$stamp"
fi
[ "${1:-}" = "--install-only" ] && exit 0

export PATH="${SOCCER_VENV:-$root/.venv}/bin:$PATH"
# No usage analytics, no update check: a repro must not need the network.
export DVC_NO_ANALYTICS=1
exec "$venv/bin/dvc" "$@"
