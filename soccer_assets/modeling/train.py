"""XGBoost ``multi:softprob`` outcome model (pure: DataFrames in, booster out).

Two variants share the code:

* ``ratings`` — :data:`soccer_assets.features.build.RATING_FEATURES` only (team strength and form,
  no odds).
* ``market`` — :data:`~soccer_assets.features.build.ALL_FEATURES`, i.e. the rating features plus the
  pre-kick-off market features built from *opening* odds. Closing odds are never features. The
  boosting starts from the de-margined opening probabilities: their logarithm is the XGBoost
  ``base_margin`` (softmax(log p) = p), so the trees only learn small corrections to the market
  and a model that finds nothing to add *is* the market. Rows without opening odds start from the
  training-period outcome frequencies instead.

Training is deterministic for a given seed: ``tree_method="hist"``, a fixed ``nthread`` and the
seed passed to XGBoost; rows are fed in the order given (the split sorts them).

Early stopping watches the validation window's multi-class log loss. Optionally (``calibration=
"temperature"``) a single temperature is fitted on the validation window and kept only if it
lowers the validation RPS; the defaults were chosen by walk-forward on seasons before the
evaluated one (see ``DEFAULT_PARAMS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.optimize import minimize_scalar

from soccer_assets.core.names import VARIANTS
from soccer_assets.modeling.forest import MAX_ROWS as MAX_FOREST_ROWS
from soccer_assets.modeling.forest import Forest
from soccer_assets.modeling.goals.model import GoalModel, goal_features, train_goal_model
from soccer_assets.modeling.metrics import N_OUTCOMES, score_all


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters of the booster and of the training procedure.

    The defaults are the walk-forward choice for the ``ratings`` variant (see ``DEFAULT_PARAMS``).
    """

    max_depth: int = 3
    learning_rate: float = 0.05
    num_boost_round: int = 1000
    early_stopping_rounds: int = 50
    min_child_weight: float = 50.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 10.0
    reg_alpha: float = 0.0
    gamma: float = 0.0
    max_bin: int = 64
    nthread: int = 2
    # "none" | "temperature": temperature scaling fitted on the validation window, kept only if
    # it lowers the validation RPS.
    calibration: str = "temperature"
    # After early stopping, refit on train + validation with the best number of rounds.
    refit_on_validation: bool = False

    def xgb_params(self, seed: int) -> dict:
        return {
            "objective": "multi:softprob",
            "num_class": N_OUTCOMES,
            "eval_metric": "mlogloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "alpha": self.reg_alpha,
            "gamma": self.gamma,
            "max_bin": self.max_bin,
            "nthread": self.nthread,
            "seed": seed,
            "verbosity": 0,
        }


# Chosen by walk-forward on the test seasons 2020-21, 2021-22 and 2022-23 (each trained on the
# seasons before it, validated on the last of those; 2023-24 was never looked at). RPS is flat
# across depth 2-3, learning rate 0.03-0.06, min_child_weight 20-100 and column subsampling
# 0.5-0.8 (all within ±0.0002 of each other); refitting on train + validation did not help.
# Temperature scaling helps the ratings model a little (it is over-confident on the validation
# season, T ≈ 1.05-1.17) and hurts the market model (the market is already calibrated).
DEFAULT_PARAMS: dict[str, TrainParams] = {
    "ratings": TrainParams(),
    "market": TrainParams(calibration="none"),
}


@dataclass
class TrainedModel:
    """A trained outcome model and everything needed to use and describe it."""

    booster: xgb.Booster
    variant: str
    features: list[str]
    best_iteration: int  # 0-based index of the last boosting round used
    params: dict
    seed: int
    validation_metrics: dict
    # Columns (H, D, A) of de-margined opening probabilities used as the boosting start.
    base_margin_columns: list[str] | None = None
    prior: list[float] = field(default_factory=lambda: [1 / 3, 1 / 3, 1 / 3])
    temperature: float = 1.0
    # The expected-total booster of the same variant, trained on the same rows: with the 1X2 it
    # fixes each match's score grid (modeling.goals.scoreline). None for a 1X2-only model.
    goals: GoalModel | None = None

    def summary(self) -> dict:
        """JSON-friendly description (for metadata / MLflow params)."""
        return {
            "variant": self.variant,
            "features": list(self.features),
            "n_features": len(self.features),
            "best_iteration": int(self.best_iteration),
            "n_trees_per_class": int(self.best_iteration) + 1,
            "seed": self.seed,
            "params": self.params,
            "base_margin_columns": self.base_margin_columns,
            "temperature": self.temperature,
            "validation_metrics": self.validation_metrics,
            "goals": self.goals.describe() if self.goals is not None else None,
        }


def variant_features(variant: str) -> tuple[list[str], list[str] | None]:
    """Feature list and base-margin columns of a variant, from the feature library."""
    from soccer_assets.features import build

    if variant == "ratings":
        return list(build.RATING_FEATURES), None
    if variant == "market":
        return list(build.ALL_FEATURES), market_prob_columns()
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def market_prob_columns() -> list[str]:
    """The feature columns holding de-margined opening P(H), P(D), P(A)."""
    from soccer_assets.features import build

    cols = getattr(build, "MARKET_PROB_FEATURES", None)
    if cols is None:
        cols = [
            c
            for o in ("home", "draw", "away")
            for c in build.MARKET_FEATURES
            if c.endswith(f"_{o}") and "_p_" in f"_{c}"
        ]
    cols = list(cols)
    if len(cols) != N_OUTCOMES:
        raise RuntimeError(
            "cannot identify the three opening-probability columns among MARKET_FEATURES "
            f"{list(build.MARKET_FEATURES)}"
        )
    return cols


def _matrix(df: pd.DataFrame, features: list[str]) -> np.ndarray:
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise KeyError(f"feature table lacks {missing}")
    return df[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32)


def _base_margin(df: pd.DataFrame, columns: list[str] | None, prior: np.ndarray) -> np.ndarray | None:
    if columns is None:
        return None
    return base_margin_from_probabilities(
        df[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64), prior)


def base_margin_from_probabilities(p: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``(n, 3)`` log-probability boosting start from opening probabilities (``prior`` where invalid)."""
    p = np.asarray(p, dtype=np.float64).reshape(-1, N_OUTCOMES)
    ok = np.all(np.isfinite(p) & (p > 0.0), axis=1)
    p = np.where(ok[:, None], p, prior[None, :])
    p = np.clip(p, 1e-6, 1.0)
    return np.log(p / p.sum(axis=1, keepdims=True))


def _dmatrix(
    df: pd.DataFrame,
    features: list[str],
    y: np.ndarray | None,
    base_margin_columns: list[str] | None,
    prior: np.ndarray,
) -> xgb.DMatrix:
    dm = xgb.DMatrix(_matrix(df, features), label=y, feature_names=list(features), missing=np.nan, nthread=1)
    margin = _base_margin(df, base_margin_columns, prior)
    if margin is not None:
        dm.set_base_margin(margin.astype(np.float32).ravel())
    return dm


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _raw_margin(model: TrainedModel, df: pd.DataFrame) -> np.ndarray:
    base = None
    if model.base_margin_columns is not None:
        base = df[model.base_margin_columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    return raw_margin_matrix(model, _matrix(df, model.features), base)


def raw_margin_matrix(model: TrainedModel, X: np.ndarray, base_p: np.ndarray | None = None,
                      forest: Forest | None = None) -> np.ndarray:
    """``(n, 3)`` raw margins for the feature matrix ``X`` (columns ``model.features``, NaN = missing).

    ``base_p`` are the rows' opening probabilities (the ``base_margin_columns``); a model with a
    base margin treats None as "no prices" (its prior). ``inplace_predict`` on a float32 array:
    the values XGBoost sees are the ones a DMatrix would hold, so this is the batch path's result
    without building a DMatrix per call (measured: 3× faster for one row). ``forest``
    (:meth:`Forest.from_booster` of this model's rounds) answers up to ``forest.MAX_ROWS`` rows
    with the same bits without XGBoost's per-call cost (the serving hot path).
    """
    X = np.ascontiguousarray(X, dtype=np.float32).reshape(-1, len(model.features))
    margin_in: np.ndarray | None = None
    if model.base_margin_columns is not None:
        prior = np.asarray(model.prior, dtype=np.float64)
        p = np.full((len(X), N_OUTCOMES), np.nan) if base_p is None else base_p
        margin_in = base_margin_from_probabilities(p, prior).astype(np.float32)
    if forest is not None and len(X) <= MAX_FOREST_ROWS:
        margin = forest.margin(X, margin_in)
    else:
        kwargs: dict = {} if margin_in is None else {"base_margin": margin_in}
        margin = model.booster.inplace_predict(X, iteration_range=(0, model.best_iteration + 1),
                                               predict_type="margin", missing=np.nan, **kwargs)
    return np.asarray(margin, dtype=np.float64).reshape(-1, N_OUTCOMES)


def predict_proba_matrix(model: TrainedModel, X: np.ndarray, base_p: np.ndarray | None = None,
                         forest: Forest | None = None) -> np.ndarray:
    """:func:`predict_proba` on a ready feature matrix (the serving hot path: no DataFrame)."""
    if len(X) == 0:
        return np.zeros((0, N_OUTCOMES))
    return _softmax(raw_margin_matrix(model, X, base_p, forest) / model.temperature)


def predict_proba(model: TrainedModel, features_df: pd.DataFrame) -> np.ndarray:
    """``(n, 3)`` probabilities of H, D, A for every row of ``features_df``."""
    if len(features_df) == 0:
        return np.zeros((0, N_OUTCOMES))
    return _softmax(_raw_margin(model, features_df) / model.temperature)


def _fit_temperature(margin: np.ndarray, y: np.ndarray) -> float:
    idx = np.arange(len(y))

    def nll(log_t: float) -> float:
        p = _softmax(margin / np.exp(log_t))
        return float(-np.mean(np.log(np.clip(p[idx, y], 1e-15, 1.0))))

    res = minimize_scalar(nll, bounds=(-1.0, 1.0), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(res.x))


def train_model(
    train_df: pd.DataFrame,
    y_train: np.ndarray,
    valid_df: pd.DataFrame,
    y_valid: np.ndarray,
    variant: str = "ratings",
    seed: int = 0,
    params: TrainParams | None = None,
    features: list[str] | None = None,
    base_margin_columns: list[str] | None = None,
    goals: bool | None = None,
) -> TrainedModel:
    """Fit the booster on ``train_df`` with early stopping on ``valid_df``.

    ``features``/``base_margin_columns`` default to the variant's (from the feature library);
    pass them explicitly to train on any other columns (tests, experiments). ``goals`` trains the
    variant's goal model too (:func:`~soccer_assets.modeling.goals.model.train_goal_model`); by
    default it does when the variant's default features are used and the frames carry the scores
    (``fthg``, ``ftag``) and the goal model's features.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    params = params or DEFAULT_PARAMS[variant]
    custom_features = features
    if features is None:
        features, default_margin = variant_features(variant)
        if base_margin_columns is None:
            base_margin_columns = default_margin
    leaking = [c for c in [*features, *(base_margin_columns or [])] if "_close" in c]
    if leaking:
        raise ValueError(f"closing odds are not known before kick-off and never features: {leaking}")
    y_train = np.asarray(y_train, dtype=np.int64)
    y_valid = np.asarray(y_valid, dtype=np.int64)
    counts = np.bincount(y_train, minlength=N_OUTCOMES).astype(np.float64) + 1.0
    prior = counts / counts.sum()

    booster_params = params.xgb_params(seed)
    dtrain = _dmatrix(train_df, features, y_train, base_margin_columns, prior)
    dvalid = _dmatrix(valid_df, features, y_valid, base_margin_columns, prior)
    booster = xgb.train(
        booster_params,
        dtrain,
        num_boost_round=params.num_boost_round,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
    )
    best = int(getattr(booster, "best_iteration", params.num_boost_round - 1))
    model = TrainedModel(
        booster=booster,
        variant=variant,
        features=list(features),
        best_iteration=best,
        params={**asdict(params), "xgb": booster_params},
        seed=seed,
        validation_metrics={},
        base_margin_columns=list(base_margin_columns) if base_margin_columns else None,
        prior=[float(v) for v in prior],
    )

    val_probs = predict_proba(model, valid_df)
    metrics = score_all(val_probs, y_valid)
    if params.calibration == "temperature":
        temperature = _fit_temperature(_raw_margin(model, valid_df), y_valid)
        calibrated = replace(model, temperature=temperature)
        cal_metrics = score_all(predict_proba(calibrated, valid_df), y_valid)
        if cal_metrics["rps"] < metrics["rps"]:
            model, metrics = calibrated, cal_metrics
    elif params.calibration != "none":
        raise ValueError(f"calibration must be 'none' or 'temperature', got {params.calibration!r}")
    model.validation_metrics = {**metrics, "best_iteration": best}

    if goals is None:
        needed = ["fthg", "ftag", *goal_features(variant)[0]]
        goals = custom_features is None and all(c in train_df for c in needed)
    if goals:
        model.goals = train_goal_model(train_df, valid_df, variant=variant, seed=seed)

    if params.refit_on_validation:
        full = pd.concat([train_df, valid_df], ignore_index=True)
        y_full = np.concatenate([y_train, y_valid])
        dfull = _dmatrix(full, features, y_full, base_margin_columns, prior)
        booster = xgb.train(booster_params, dfull, num_boost_round=best + 1, verbose_eval=False)
        model = replace(model, booster=booster)
    return model
