"""Checks a model version passes before it serves (pure: a loaded booster or model in, an error out).

``check_booster`` looks at the booster itself (objective, classes, feature names and order, a
smoke prediction); ``check_smoke`` predicts the feature rows stored with the training run through
the serving path and compares them with the run's own probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import xgboost as xgb


class Predicts(Protocol):
    """What ``check_smoke`` needs of ``soccer_serving.registry.LoadedModel``."""

    def predict_rows(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray: ...


# The serving path computes what the pipeline computed bit for bit (tests/soccer_serving/
# test_hot_path.py); the bound only absorbs a CPU's last-digit differences.
SMOKE_TOLERANCE = 1e-7


def check_smoke(model: Predicts, rows: Sequence[Mapping[str, float]],
                expected: Sequence[Sequence[float]]) -> None:
    """Refuse a version whose answers on the rows stored with its run are not the run's own.

    Catches what the structural checks cannot see: a booster paired with another description
    (other best iteration, prior, temperature or base-margin columns), features renamed to the
    signature's names but trained in another order, a package assembled by hand.
    """
    got = model.predict_rows(rows)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        raise ValueError(f"smoke prediction on the run's stored rows: shape {got.shape}, "
                         f"the run's {want.shape}")
    gap = float(np.max(np.abs(got - want)))
    if not gap <= SMOKE_TOLERANCE:
        raise ValueError(f"smoke prediction on the {len(rows)} rows stored with the run differs from the "
                         f"run's own predictions by up to {gap:.3g} (allowed {SMOKE_TOLERANCE:g})")


def check_booster(booster: xgb.Booster, features: Sequence[str]) -> None:
    """Refuse a booster that would answer wrongly or fail every request once swapped in.

    Its objective must be ``multi:softprob`` with the three classes H, D, A; the feature names it was
    trained with (when it kept them) must be the signature's, in the same order (the row is
    assembled in the signature's order, so a permutation would silently feed the wrong columns);
    and a smoke prediction must give one probability row per input that sums to 1.
    """
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    classes = int(learner["learner_model_param"].get("num_class", "0"))
    if objective != "multi:softprob" or classes != 3:
        raise ValueError(f"not a 3-outcome probability model: objective {objective}, {classes} classes "
                         "(expected multi:softprob with 3 classes)")
    trained_on = booster.feature_names
    if trained_on is not None and tuple(trained_on) != tuple(features):
        moved = [f"{a}≠{b}" for a, b in zip(trained_on, features, strict=False) if a != b]
        raise ValueError(f"the booster's features differ from the signature's (order or names: "
                         f"{moved[:3]}{'…' if len(moved) > 3 else ''}; {len(trained_on)} vs {len(features)})")
    if booster.num_features() != len(features):
        raise ValueError(f"the booster takes {booster.num_features()} features, the signature names "
                         f"{len(features)}")
    rows = np.zeros((2, len(features)), dtype=np.float32)
    rows[1] = np.nan  # what a request with missing values sends
    p = np.asarray(booster.inplace_predict(rows))
    if p.shape != (2, 3) or not np.isfinite(p).all() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-5):
        raise ValueError(f"smoke prediction failed: shape {p.shape}, sums {np.round(p.sum(axis=-1), 4)}")
