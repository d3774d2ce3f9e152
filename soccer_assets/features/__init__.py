"""Pure pre-match features: ratings (Elo, pi-ratings), rolling form, market probabilities.

No IO, no Dagster: ``soccer_serving`` imports these modules directly so that online features are
computed by exactly the same code as the offline ``match_features`` asset.

* ``elo.py``, ``pi_ratings.py``, ``form.py``, ``market.py``, ``params.py`` — the building blocks;
* ``team_state.py`` — ``TeamState`` of one team and its stored record format;
* ``match_records.py`` — match rows as update records, walked one match day at a time;
* ``rollover.py`` — season carry-over and promoted / new teams (``resolve_team_state``);
* ``updates.py`` — ``update_states`` (one match day), ``build_team_states``;
* ``feature_vector.py`` — the feature columns and the row of one match (``fixture_features``);
* ``build.py`` — the offline feature table and rating-parameter tuning;
* ``state.py`` — re-exports the team-state names under their historical import path.
"""
