"""Pure functions of live model monitoring: served predictions scored against real results, drift.

* :mod:`~soccer_assets.monitoring.live` joins the prediction log with the results, scores every
  served prediction (the metrics of :mod:`soccer_assets.modeling.metrics`) next to the de-margined
  market on the same matches, and aggregates per model version, league and week.
* :mod:`~soccer_assets.monitoring.clv` picks each scored prediction's value bet (largest positive
  edge at the opening price known before kick-off) and scores it against the closing price of the
  same book: closing-line value per model version and league.
* :mod:`~soccer_assets.monitoring.drift` computes the population stability index and scipy's
  two-sample Kolmogorov–Smirnov test per feature, and prediction drift (predicted-outcome shares).
* :mod:`~soccer_assets.monitoring.alerts` turns those figures into the pass/fail verdicts of the
  asset checks.
* :mod:`~soccer_assets.monitoring.report` renders tables, the live-RPS plot and the flat rows of the
  ``live_monitoring`` warehouse table (read by the API's Prometheus collector).

No file, network or database IO and no Dagster/MLflow imports live here:
``soccer_assets.defs.monitoring`` wires these functions to the warehouse, the lake and MLflow.
This package module stays import-free.
"""
