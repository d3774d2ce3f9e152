"""Pure modelling functions: temporal splits, metrics, baselines, XGBoost training, evaluation.

No file, network or database IO and no Dagster/MLflow imports live here; the asset layer and
``soccer_assets.cli.evaluate`` wire these functions to the outside world. Import the sub-modules
directly (``from soccer_assets.modeling.metrics import rps``); this package module stays
import-free so that importing one piece does not pull in XGBoost or matplotlib.
"""
