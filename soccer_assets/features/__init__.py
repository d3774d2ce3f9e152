"""Pure pre-match features: ratings (Elo, pi-ratings), rolling form, market probabilities.

No IO, no Dagster: ``soccer_serving`` imports these modules directly so that online features are
computed by exactly the same code as the offline ``match_features`` asset.
"""
