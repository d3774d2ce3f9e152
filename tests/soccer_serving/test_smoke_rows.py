"""Before a version serves, it predicts the rows stored with its run and must give the run's answers.

Real MLflow (a SQLite tracking store and a local artifact store in a temp dir), the pipeline's
packaging (``model_store.log_outcome_model``) and the API's loader (``RegistryClient.load``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from soccer_assets.features.state import RATING_FEATURES
from soccer_assets.modeling import artifact
from soccer_assets.modeling.train import TrainedModel, predict_proba
from soccer_serving.registry import RegistryClient, check_smoke
from soccer_serving.settings import ServingSettings
from tests.soccer_serving.support import register_pipeline_model

FEATURES = list(RATING_FEATURES[:3])

NAME = "smoke-ratings"


@pytest.fixture
def registry(tmp_path: Path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("smoke", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    yield uri, tmp_path / "artifacts"
    mlflow.set_tracking_uri(None)


def _trained() -> TrainedModel:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, len(FEATURES))), columns=FEATURES)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "seed": 0},
                        xgb.DMatrix(X, label=rng.integers(0, 3, size=120)), num_boost_round=8)
    return TrainedModel(booster=booster, variant="ratings", features=FEATURES, best_iteration=5,
                        params={"max_depth": 2}, seed=0, validation_metrics={"rps": 0.2},
                        prior=[0.45, 0.27, 0.28], temperature=1.1)


def _example() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(8, len(FEATURES))), columns=FEATURES)
    frame.loc[2, FEATURES[0]] = np.nan  # a missing value travels as null and back
    return frame


def _files_of(uri: str, version: str, name: str) -> Path:
    from mlflow import MlflowClient

    source = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version_download_uri(NAME, version)
    (path,) = Path(source.removeprefix("file://")).rglob(name)
    return path


def test_a_version_whose_answers_differ_from_its_run_is_refused(registry) -> None:
    uri, _artifacts = registry
    model = _trained()
    client = RegistryClient(ServingSettings(mlflow_tracking_uri=uri))

    sound = register_pipeline_model(uri, NAME, model, _example())
    loaded = client.load("ratings", NAME, sound, "champion")
    rows, expected = artifact.parse_smoke(_files_of(uri, sound, artifact.SMOKE_FILE).read_text())
    assert len(rows) == 5 and np.isnan(rows[2][FEATURES[0]])
    np.testing.assert_allclose(expected, predict_proba(model, _example().head(5)), atol=0)
    np.testing.assert_array_equal(loaded.predict_rows(rows), np.asarray(expected))

    # A second version whose description was changed after the run (another temperature): the
    # booster, objective and features pass every structural check, the answers do not.
    tampered = register_pipeline_model(uri, NAME, model, _example())
    meta_path = _files_of(uri, tampered, artifact.META_FILE)
    meta = json.loads(meta_path.read_text())
    meta["temperature"] = 2.0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"smoke prediction on the 5 rows stored with the run differs "
                                         r"from the run's own predictions by up to"):
        client.load("ratings", NAME, tampered, "champion")


def test_a_version_logged_without_smoke_rows_still_loads_and_the_check_names_shape_errors(registry) -> None:
    uri, _artifacts = registry
    model = _trained()
    version = register_pipeline_model(uri, NAME, model, _example())
    # What a version logged before the smoke rows existed looks like.
    _files_of(uri, version, artifact.SMOKE_FILE).unlink()
    loaded = RegistryClient(ServingSettings(mlflow_tracking_uri=uri)).load("ratings", NAME, version, None)
    rows = _example().head(3).to_dict("records")
    check_smoke(loaded, rows, loaded.predict_rows(rows).tolist())
    with pytest.raises(ValueError, match="shape"):
        check_smoke(loaded, rows, [[0.3, 0.3, 0.4]])
    with pytest.raises(ValueError, match="0 rows"):
        artifact.parse_smoke(json.dumps({"rows": [], "probabilities": []}))
