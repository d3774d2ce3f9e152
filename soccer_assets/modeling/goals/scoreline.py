"""One score grid per match from a trained model: the classifier's 1X2 and the goal model's total.

Why: every market the platform prices comes from one grid per match, and that grid's 1X2 *is* the
champion classifier's (``fit_grids`` rescales the result regions exactly), so the API never quotes a
home win at one price in 1X2 and another implied by the Asian handicap. The goal model only sets
how many goals the grid expects (``λh + λa``); the 1X2 splits them.
"""

from __future__ import annotations

import pandas as pd

from soccer_assets.modeling.goals.model import predict_total
from soccer_assets.modeling.markets import GridFit, fit_grids
from soccer_assets.modeling.train import TrainedModel, predict_proba


class NoGoalModel(ValueError):
    """The model has no goal model (trained 1X2-only), so it cannot price markets beyond 1X2."""


def model_grids(model: TrainedModel, frame: pd.DataFrame) -> GridFit:
    """The score grids of every row of ``frame`` (feature columns of the model and its goal model)."""
    if model.goals is None:
        raise NoGoalModel(f"the {model.variant} model has no goal model: it prices 1X2 only")
    return fit_grids(predict_proba(model, frame), predict_total(model.goals, frame))
