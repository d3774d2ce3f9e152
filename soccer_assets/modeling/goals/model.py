"""Expected total goals of a match: an XGBoost ``count:poisson`` booster (pure: frames in, booster out).

Why this model (ADR 0011): the markets need a full scoreline grid per match whose 1X2 is the
champion classifier's (:func:`soccer_assets.modeling.markets.fit_grids`); the one number the grid
still needs is the expected total ``λh + λa``. A Poisson regression of the match's total goals on
the same leakage-free pre-match features as the 1X2 model gives it in about a second of training
on twelve seasons, and it updates with the team state at no cost; a Dixon–Coles refit per match
week is kept as the baseline it is measured against (:mod:`.dixon_coles`).

Two variants, as for the 1X2 model:

* ``ratings`` — :data:`~soccer_assets.features.feature_vector.RATING_FEATURES` only;
* ``market`` — also the 1X2 market features and :data:`~soccer_assets.features.totals.TOTALS_FEATURES`
  (opening over/under 2.5 odds). The boosting starts from the total the opening price implies
  (``base_margin = log market_total_mu``), so the trees learn corrections to the market; rows
  without totals odds start from the training mean.

Closing prices are never inputs (``train_goal_model`` refuses any ``*_close*`` column). Training is
deterministic for a seed (``hist``, fixed ``nthread``); early stopping watches the validation
window's Poisson deviance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb

from soccer_assets.core.names import VARIANTS

TARGET = "total_goals"
MARKET_TOTAL_COLUMN = "market_total_mu"


@dataclass(frozen=True)
class GoalParams:
    """Booster hyper-parameters (chosen on the seasons before 2023-24, like the 1X2 model's)."""

    max_depth: int = 3
    learning_rate: float = 0.03
    num_boost_round: int = 2000
    early_stopping_rounds: int = 50
    min_child_weight: float = 50.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 10.0
    max_bin: int = 64
    # XGBoost's own advice for count:poisson: bound the leaf step so the log link cannot blow up.
    max_delta_step: float = 0.7
    nthread: int = 2

    def xgb_params(self, seed: int) -> dict:
        return {
            "objective": "count:poisson",
            "eval_metric": "poisson-nloglik",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "max_delta_step": self.max_delta_step,
            "nthread": self.nthread,
            "seed": seed,
            "verbosity": 0,
        }


@dataclass
class GoalModel:
    """A trained expected-total booster and what is needed to use it."""

    booster: xgb.Booster
    variant: str
    features: list[str]
    best_iteration: int
    prior_total: float  # mean total goals of the training rows (the start where no price is known)
    base_margin_column: str | None = None
    params: dict = field(default_factory=dict)
    seed: int = 0
    validation_metrics: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """JSON-friendly description (everything but the booster)."""
        return {
            "variant": self.variant,
            "features": list(self.features),
            "best_iteration": int(self.best_iteration),
            "prior_total": float(self.prior_total),
            "base_margin_column": self.base_margin_column,
            "params": self.params,
            "seed": self.seed,
            "validation_metrics": self.validation_metrics,
        }


def goal_features(variant: str) -> tuple[list[str], str | None]:
    """Feature list and base-margin column of a goal-model variant."""
    from soccer_assets.features.feature_vector import ALL_FEATURES, RATING_FEATURES
    from soccer_assets.features.totals import TOTALS_FEATURES

    if variant == "ratings":
        return list(RATING_FEATURES), None
    if variant == "market":
        return [*ALL_FEATURES, *TOTALS_FEATURES], MARKET_TOTAL_COLUMN
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def total_goals(frame: pd.DataFrame) -> np.ndarray:
    """``fthg + ftag`` per row (NaN where a score is missing)."""
    hg = pd.to_numeric(frame["fthg"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ag = pd.to_numeric(frame["ftag"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return hg + ag


def _matrix(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise KeyError(f"feature table lacks {missing}")
    return frame[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)


def _base_margin(frame: pd.DataFrame, column: str | None, prior_total: float) -> np.ndarray | None:
    if column is None:
        return None
    mu = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        mu = np.where(np.isfinite(mu) & (mu > 0.0), mu, prior_total)
    return np.log(mu)


def _dmatrix(frame: pd.DataFrame, model_like: GoalModel, label: np.ndarray | None = None) -> xgb.DMatrix:
    dm = xgb.DMatrix(_matrix(frame, model_like.features), label=label,
                     feature_names=list(model_like.features), missing=np.nan, nthread=1)
    margin = _base_margin(frame, model_like.base_margin_column, model_like.prior_total)
    if margin is not None:
        dm.set_base_margin(margin.astype(np.float32))
    return dm


def train_goal_model(
    train_df: pd.DataFrame,
    valid_df: pd.DataFrame,
    variant: str = "ratings",
    seed: int = 0,
    params: GoalParams | None = None,
    features: list[str] | None = None,
    base_margin_column: str | None = None,
) -> GoalModel:
    """Fit the expected-total booster on ``train_df`` (rows with a score) with early stopping on
    ``valid_df``. Both need ``fthg``/``ftag`` and the feature columns of the variant."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    params = params or GoalParams()
    if features is None:
        features, default_margin = goal_features(variant)
        base_margin_column = base_margin_column or default_margin
    leaking = [c for c in [*features, base_margin_column or ""] if "_close" in c]
    if leaking:
        raise ValueError(f"closing prices are not known before kick-off and never features: {leaking}")
    y_train, y_valid = total_goals(train_df), total_goals(valid_df)
    train_df, y_train = train_df[np.isfinite(y_train)], y_train[np.isfinite(y_train)]
    valid_df, y_valid = valid_df[np.isfinite(y_valid)], y_valid[np.isfinite(y_valid)]
    if len(y_train) == 0 or len(y_valid) == 0:
        raise ValueError("the goal model needs played matches in both the training and validation rows")
    shell = GoalModel(booster=xgb.Booster(), variant=variant, features=list(features), best_iteration=0,
                      prior_total=float(y_train.mean()), base_margin_column=base_margin_column, seed=seed)
    booster_params = params.xgb_params(seed)
    dvalid = _dmatrix(valid_df, shell, y_valid)
    booster = xgb.train(booster_params, _dmatrix(train_df, shell, y_train),
                        num_boost_round=params.num_boost_round, evals=[(dvalid, "validation")],
                        early_stopping_rounds=params.early_stopping_rounds, verbose_eval=False)
    shell.booster = booster
    shell.best_iteration = int(getattr(booster, "best_iteration", params.num_boost_round - 1))
    shell.params = {**asdict(params), "xgb": booster_params}
    mu = predict_total(shell, valid_df)
    shell.validation_metrics = {
        "n": len(y_valid),
        "poisson_deviance": poisson_deviance(mu, y_valid),
        "mean_predicted": float(mu.mean()),
        "mean_observed": float(y_valid.mean()),
    }
    return shell


def predict_total(model: GoalModel, frame: pd.DataFrame) -> np.ndarray:
    """Expected total goals ``λh + λa`` of every row of ``frame``."""
    if len(frame) == 0:
        return np.zeros(0)
    out = model.booster.predict(_dmatrix(frame, model), iteration_range=(0, model.best_iteration + 1))
    return np.asarray(out, dtype=np.float64)


def poisson_deviance(mu: np.ndarray, y: np.ndarray) -> float:
    """Mean Poisson deviance ``2 [y log(y/μ) − (y − μ)]`` (0 for a perfect mean)."""
    mu = np.asarray(mu, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2.0 * (term - (y - mu)))) if len(y) else math.nan


def goal_model_from_parts(booster_raw: bytes, description: dict) -> GoalModel:
    """A ``GoalModel`` from its UBJSON booster bytes and :meth:`GoalModel.describe` (no pickle)."""
    missing = [k for k in ("features", "best_iteration", "prior_total") if k not in description]
    if missing:
        raise ValueError(f"goal model description lacks {missing}")
    booster = xgb.Booster()
    booster.load_model(bytearray(booster_raw))
    return GoalModel(
        booster=booster,
        variant=str(description.get("variant", "ratings")),
        features=list(description["features"]),
        best_iteration=int(description["best_iteration"]),
        prior_total=float(description["prior_total"]),
        base_margin_column=description.get("base_margin_column"),
        params=dict(description.get("params", {})),
        seed=int(description.get("seed", 0)),
        validation_metrics=dict(description.get("validation_metrics", {})),
    )
