"""MLflow packaging of a trained outcome model (IO: MLflow; no Dagster).

A registered version is an MLflow *pyfunc* model wrapping :class:`OutcomeModel`: the XGBoost
booster (UBJSON, bit-exact round trip) plus a JSON description of everything
``modeling.train.predict_proba`` needs (feature order, best iteration, base-margin columns,
prior, temperature); the format is :mod:`soccer_assets.modeling.artifact`. Serving and
``mlflow models serve`` therefore compute exactly the probabilities the pipeline evaluated.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import xgboost as xgb

from soccer_assets.modeling import artifact
from soccer_assets.modeling.train import TrainedModel, predict_proba
from soccer_assets.storage.model_package import MODEL_CODE_FILE, read_outcome_package

# models-from-code: MLflow stores this file, not a pickle of OutcomeModel.
MODEL_CODE = Path(__file__).with_name(MODEL_CODE_FILE)

PROBA_COLUMNS = ["p_home", "p_draw", "p_away"]


def feature_params_tags() -> dict[str, str]:
    """Run tag with the FeatureParams the features were built with; serving refuses a mismatch."""
    from soccer_assets.features.params import FeatureParams

    return {"feature_params_json": json.dumps(FeatureParams().as_dict(), sort_keys=True, default=str)}


def save_trained(model: TrainedModel, directory: Path) -> dict[str, str]:
    """Write the files of :mod:`soccer_assets.modeling.artifact`; returns the pyfunc ``artifacts``."""
    directory.mkdir(parents=True, exist_ok=True)
    booster_path = directory / artifact.BOOSTER_FILE
    meta_path = directory / artifact.META_FILE
    booster_path.write_bytes(artifact.booster_bytes(model.booster))
    meta_path.write_text(artifact.meta_json(model))
    out = {artifact.BOOSTER_ARTIFACT: str(booster_path), artifact.META_ARTIFACT: str(meta_path)}
    goals = artifact.goals_booster_bytes(model)
    if goals is not None:
        goals_path = directory / artifact.GOALS_BOOSTER_FILE
        goals_path.write_bytes(goals)
        out[artifact.GOALS_BOOSTER_ARTIFACT] = str(goals_path)
    return out


def load_trained(booster_path: str, meta_path: str, goals_path: str | None = None) -> TrainedModel:
    """Read the files back (:func:`soccer_assets.modeling.artifact.trained_from_parts`)."""
    meta = artifact.parse_meta(Path(meta_path).read_text())
    goals = Path(goals_path).read_bytes() if goals_path else None
    return artifact.trained_from_parts(Path(booster_path).read_bytes(), meta, goals)


class OutcomeModel(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: feature frame in, ``p_home, p_draw, p_away`` out."""

    def __init__(self) -> None:
        self.trained: TrainedModel | None = None

    def load_context(self, context: Any) -> None:
        self.trained = load_trained(context.artifacts[artifact.BOOSTER_ARTIFACT],
                                    context.artifacts[artifact.META_ARTIFACT],
                                    context.artifacts.get(artifact.GOALS_BOOSTER_ARTIFACT))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        assert self.trained is not None, "load_context was not called"
        proba = predict_proba(self.trained, pd.DataFrame(model_input))
        return pd.DataFrame(proba, columns=PROBA_COLUMNS)


def log_outcome_model(
    model: TrainedModel,
    example: pd.DataFrame,
    *,
    registered_model_name: str | None = None,
) -> Any:
    """Log ``model`` into the active MLflow run (and register it if a name is given)."""
    from mlflow.models import infer_signature

    x = example[model.features].head(5).reset_index(drop=True)
    signature = infer_signature(x, pd.DataFrame(predict_proba(model, x), columns=PROBA_COLUMNS))
    # The smoke rows carry the base-margin columns too (the market variant starts from them).
    columns = list(dict.fromkeys([*model.features, *(model.base_margin_columns or [])]))
    smoke = example[columns].head(5).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = save_trained(model, Path(tmp))
        smoke_path = Path(tmp) / artifact.SMOKE_FILE
        smoke_path.write_text(artifact.smoke_json(smoke.to_dict("records"), predict_proba(model, smoke)))
        artifacts[artifact.SMOKE_ARTIFACT] = str(smoke_path)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts=artifacts,
            signature=signature,
            input_example=x,
            registered_model_name=registered_model_name,
            # Explicit requirements: inference would import-trace the whole project.
            pip_requirements=[
                f"mlflow=={mlflow.__version__}",
                f"xgboost=={xgb.__version__}",
                f"pandas=={pd.__version__}",
                f"numpy=={np.__version__}",
                "soccer-predict",
            ],
        )


def load_outcome_model(model_uri: str) -> TrainedModel:
    """``models:/name@alias`` (or any model URI) -> the TrainedModel inside it, read from the files
    (:func:`soccer_assets.storage.model_package.read_outcome_package`: nothing is unpickled or run)."""
    import mlflow.artifacts
    from mlflow.models import Model

    with tempfile.TemporaryDirectory(prefix="soccer-model-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        try:
            return read_outcome_package(local, Model.load(str(local)).flavors)
        except ValueError as exc:
            raise TypeError(f"{model_uri} is not a soccer-predict outcome model: {exc}") from exc
