#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine with Python 3.11:
# uv (from PyPI) and the locked environment in .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --frozen --quiet
# DVC in its own tool environment (.tools/dvc, hash-locked tools/dvc/requirements.txt): scripts/dvc.sh.
bash scripts/dvc.sh --install-only
