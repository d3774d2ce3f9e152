"""The on-disk format of a trained outcome model: booster bytes + a JSON description (pure).

The one owner of the format both sides read: the pipeline's MLflow pyfunc package
(``soccer_assets.storage.model_store``) writes and reads it, and serving
(``soccer_serving.registry``) reads it without unpickling the pyfunc class. Functions here work on
bytes and dicts only; the file IO stays with the callers.

* :data:`BOOSTER_FILE` (artifact key ``booster``): the XGBoost booster as UBJSON (bit-exact round
  trip);
* :data:`META_FILE` (artifact key ``meta``): a JSON object with :data:`META_KEYS`, everything
  ``modeling.train.predict_proba`` needs (feature order, best iteration, base-margin columns,
  prior, temperature) besides the booster, and under ``goals`` the goal model's description;
* :data:`GOALS_BOOSTER_FILE` (artifact key ``goals_booster``, optional): the expected-total
  booster as UBJSON. A model without it prices 1X2 only.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import xgboost as xgb

from soccer_assets.modeling.goals.model import goal_model_from_parts
from soccer_assets.modeling.train import TrainedModel

BOOSTER_FILE = "booster.ubj"
META_FILE = "model_meta.json"
# Names of the two files in the pyfunc package's ``artifacts`` (``context.artifacts[...]``).
BOOSTER_ARTIFACT = "booster"
META_ARTIFACT = "meta"
GOALS_BOOSTER_FILE = "goals_booster.ubj"
GOALS_BOOSTER_ARTIFACT = "goals_booster"
GOALS_META_KEY = "goals"
# Feature rows of the training run and the probabilities the run computed for them: whoever loads
# the version predicts them again and refuses it when the answers differ.
SMOKE_FILE = "smoke_rows.json"
SMOKE_ARTIFACT = "smoke_rows"

META_KEYS = (
    "variant",
    "features",
    "best_iteration",
    "params",
    "seed",
    "validation_metrics",
    "base_margin_columns",
    "prior",
    "temperature",
)
# Keys a description must carry; the others fall back to these defaults (or the TrainedModel's).
REQUIRED_META_KEYS = ("features", "best_iteration")
META_DEFAULTS: Mapping[str, Any] = {"variant": "ratings", "params": {}, "seed": 0, "validation_metrics": {}}


def meta_of(model: TrainedModel) -> dict[str, Any]:
    """The description of ``model`` (:data:`META_KEYS`, and ``goals`` when it has a goal model)."""
    out = {k: getattr(model, k) for k in META_KEYS}
    if model.goals is not None:
        out[GOALS_META_KEY] = model.goals.describe()
    return out


def meta_json(model: TrainedModel) -> str:
    """:func:`meta_of` as the text of :data:`META_FILE`."""
    return json.dumps(meta_of(model), indent=1, sort_keys=True, default=float)


def booster_bytes(booster: xgb.Booster) -> bytes:
    """The booster as the bytes of :data:`BOOSTER_FILE` (UBJSON)."""
    return bytes(booster.save_raw(raw_format="ubj"))


def goals_booster_bytes(model: TrainedModel) -> bytes | None:
    """The goal booster as the bytes of :data:`GOALS_BOOSTER_FILE`, None without a goal model."""
    return booster_bytes(model.goals.booster) if model.goals is not None else None


def smoke_json(rows: list[Mapping[str, float]], probabilities: Any) -> str:
    """The text of :data:`SMOKE_FILE`: feature rows (a missing value as null) and their 1X2."""
    def cell(v: Any) -> float | None:
        v = float(v)
        return v if v == v else None  # NaN -> null (JSON has no NaN)

    return json.dumps({
        "rows": [{k: cell(v) for k, v in r.items()} for r in rows],
        "probabilities": [[float(x) for x in p] for p in probabilities],
    }, indent=1, sort_keys=True)


def parse_smoke(text: str | bytes) -> tuple[list[dict[str, float]], list[list[float]]]:
    """Rows (null back to NaN) and probabilities of :data:`SMOKE_FILE`; ``ValueError`` if malformed."""
    data = json.loads(text)
    rows = [{str(k): float("nan") if v is None else float(v) for k, v in r.items()} for r in data["rows"]]
    proba = [[float(x) for x in p] for p in data["probabilities"]]
    if not rows or len(rows) != len(proba) or any(len(p) != 3 for p in proba):
        raise ValueError(f"{SMOKE_FILE}: {len(rows)} rows, {len(proba)} probability rows of 3")
    return rows, proba


def parse_meta(text: str | bytes) -> Any:
    """The JSON of :data:`META_FILE` (``ValueError`` if it is not JSON)."""
    return json.loads(text)


def trained_from_parts(booster_raw: bytes, meta: Mapping[str, Any],
                       goals_raw: bytes | None = None) -> TrainedModel:
    """A ``TrainedModel`` from the bytes of :data:`BOOSTER_FILE` and the parsed :data:`META_FILE`
    (and :data:`GOALS_BOOSTER_FILE` when the package has one).

    Loads the booster first (garbage bytes raise ``xgboost.core.XGBoostError``), then checks the
    description: ``ValueError`` when it lacks one of :data:`REQUIRED_META_KEYS`, or when the goal
    booster and its description do not come together. Other keys outside :data:`META_KEYS` are
    ignored. Nothing is unpickled.
    """
    booster = xgb.Booster()
    booster.load_model(bytearray(booster_raw))
    missing = [k for k in REQUIRED_META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"{META_FILE} lacks {missing}")
    kwargs = {k: meta[k] for k in META_KEYS if k in meta}
    for k, v in META_DEFAULTS.items():
        kwargs.setdefault(k, copy.deepcopy(v))
    goals_meta = meta.get(GOALS_META_KEY)
    if (goals_raw is None) != (goals_meta is None):
        raise ValueError(f"{GOALS_BOOSTER_FILE} and the {GOALS_META_KEY!r} description of "
                         f"{META_FILE} must both be present or both absent")
    goals = goal_model_from_parts(goals_raw, goals_meta) if goals_raw is not None else None
    return TrainedModel(booster=booster, goals=goals, **kwargs)
