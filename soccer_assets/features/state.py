"""Team states and the match feature row, under the module name the rest of the platform imports.

The code lives in one module per concept; this module re-exports their public names so that
``from soccer_assets.features.state import ...`` keeps working:

* ``team_state.py`` — ``TeamState`` (ratings + form + season table of one team), its record
  format (``to_record`` / ``states_from_records``), ``initial_state``, ``season_summary``;
* ``match_records.py`` — ``MatchRecord`` rows and ``iter_match_days`` (the leakage-safe walk);
* ``rollover.py`` — season carry-over and promoted / new teams: ``resolve_team_state``;
* ``updates.py`` — ``apply_match``, ``update_states`` (one match day), ``build_team_states``;
* ``feature_vector.py`` — the feature columns and the row of one match (``fixture_features``).
"""

from __future__ import annotations

from soccer_assets.features.feature_vector import (
    ALL_FEATURES,
    ELO_DIFF_FEATURE,
    FEATURE_COLUMNS,
    MARKET_FEATURES,
    MARKET_PROB_FEATURES,
    RATING_FEATURES,
    TOTALS_FEATURES,
    fixture_features,
    market_feature_vector,
    market_features_from_odds,
    match_feature_vector,
    rating_feature_vector,
)
from soccer_assets.features.match_records import MatchRecord, iter_match_days, match_records
from soccer_assets.features.rollover import (
    entrant_state,
    latest_previous_season,
    previous_season_summaries,
    resolve_team_state,
    roll_to_season,
)
from soccer_assets.features.team_state import (
    SeasonSummary,
    TeamKey,
    TeamState,
    initial_state,
    season_summary,
    states_from_records,
)
from soccer_assets.features.updates import apply_match, build_team_states, update_states

__all__ = [
    "ALL_FEATURES",
    "ELO_DIFF_FEATURE",
    "FEATURE_COLUMNS",
    "MARKET_FEATURES",
    "MARKET_PROB_FEATURES",
    "RATING_FEATURES",
    "TOTALS_FEATURES",
    "MatchRecord",
    "SeasonSummary",
    "TeamKey",
    "TeamState",
    "apply_match",
    "build_team_states",
    "entrant_state",
    "fixture_features",
    "initial_state",
    "iter_match_days",
    "latest_previous_season",
    "market_feature_vector",
    "market_features_from_odds",
    "match_feature_vector",
    "match_records",
    "previous_season_summaries",
    "rating_feature_vector",
    "resolve_team_state",
    "roll_to_season",
    "season_summary",
    "states_from_records",
    "update_states",
]
