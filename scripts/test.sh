#!/usr/bin/env bash
# The whole test suite. Installs what it needs and starts PostgreSQL/Redis if they are not up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
bash scripts/services.sh
uv run --frozen ruff check .
exec uv run --frozen pytest "$@"
