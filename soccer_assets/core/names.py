"""Names shared across the platform, each with one owner: this module.

The pipeline registers models under these names and tags its runs with these keys; serving, the
CLI and the snapshot export read them from here.
"""

from __future__ import annotations

# The source the platform ingests (football-data.co.uk); a mirror or a file:// copy has its layout.
SITE_URL = "https://www.football-data.co.uk"

# Model variants: ``ratings`` uses results-based features only, ``market`` adds opening prices.
VARIANTS: tuple[str, ...] = ("ratings", "market")
REGISTERED_NAMES: dict[str, str] = {v: f"soccer-outcome-{v}" for v in VARIANTS}
EXPERIMENT = "soccer-outcome"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"

# Run tags. Production limits concurrent runs per value of LEAGUE_TAG (deploy/k8s/overlays/production):
# a league's seasons build on each other's ratings, so two runs must not write one league at once.
LEAGUE_TAG = "soccer/league"
# DVC hash of the raw-data snapshot an MLflow run was built from.
SNAPSHOT_TAG = "soccer.data_snapshot"
