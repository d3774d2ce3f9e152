"""A pickle in the registry never runs (issue 20, point 2), against the real MLflow server.

A version is registered as a CloudPickle pyfunc whose model object has a side effect when it is
unpickled (it writes a file), next to the real booster and description files. MLflow itself runs the
side effect (the control); the pipeline's loader and the API's read the files and never do.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import Model

from soccer_assets.modeling import artifact
from soccer_assets.modeling.train import predict_proba
from soccer_assets.storage.model_store import load_outcome_model, log_outcome_model, save_trained
from soccer_serving.registry import _load_outcome_pyfunc
from tests.soccer_serving.support import MLFLOW_TEST_ENV
from tests.soccer_serving.test_artifact_format import FEATURES, _trained

pytestmark = pytest.mark.integration


class SideEffect(mlflow.pyfunc.PythonModel):
    """Unpickling it writes ``marker`` (what an attacker's payload would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("the pickle ran")
        self.__dict__.update(state)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> Any:
        return model_input


@pytest.fixture
def registry(mlflow_url: str) -> str:
    for k, v in MLFLOW_TEST_ENV.items():
        os.environ.setdefault(k, v)
    mlflow.set_tracking_uri(mlflow_url)
    mlflow.set_registry_uri(mlflow_url)
    return mlflow_url


def test_a_registered_pickle_with_a_side_effect_never_runs(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _trained()
    marker = tmp_path / "pwned"
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        artifacts = save_trained(model, Path(tmp))
        mlflow.pyfunc.log_model(name="model", python_model=SideEffect(str(marker)), artifacts=artifacts,
                                registered_model_name="pickle-bomb", pip_requirements=["x"])
    uri = "models:/pickle-bomb/1"

    # The pipeline's loader (live_monitoring, the champion's checks, the snapshot build).
    loaded = load_outcome_model(uri)
    assert not marker.exists()
    X = pd.DataFrame(np.random.default_rng(1).normal(size=(10, 2)), columns=FEATURES)
    np.testing.assert_array_equal(predict_proba(loaded, X), predict_proba(model, X))

    # The API's loader, with unpickling made impossible.
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "dl")))
    assert (local / "python_model.pkl").exists()
    with monkeypatch.context() as m:
        m.setattr(pickle, "load", _no_unpickling)
        m.setattr(pickle, "loads", _no_unpickling)
        served = _load_outcome_pyfunc(local, Model.load(str(local)))
    assert artifact.meta_of(served) == artifact.meta_of(model)
    assert not marker.exists()

    # The control: MLflow's own loader unpickles it, and the side effect happens.
    mlflow.pyfunc.load_model(uri)
    assert marker.read_text() == "the pickle ran"


def _no_unpickling(*args: object, **kwargs: object) -> None:
    raise AssertionError("a loader unpickled registry content")


def test_the_pipeline_registers_models_from_code_without_a_pickle(registry: str, tmp_path: Path) -> None:
    model = _trained()
    example = pd.DataFrame(np.random.default_rng(2).normal(size=(5, 2)), columns=FEATURES)
    with mlflow.start_run():
        log_outcome_model(model, example, registered_model_name="from-code")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri="models:/from-code/1",
                                                     dst_path=str(tmp_path / "dl")))
    assert not list(local.rglob("*.pkl"))
    conf = Model.load(str(local)).flavors["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert (local / "outcome_pyfunc.py").exists()
    # MLflow's loader (what `mlflow models serve` runs) gets the same probabilities as ours.
    pyfunc = mlflow.pyfunc.load_model("models:/from-code/1")
    np.testing.assert_allclose(pyfunc.predict(example).to_numpy(), predict_proba(model, example), atol=0)
    np.testing.assert_array_equal(predict_proba(load_outcome_model("models:/from-code/1"), example),
                                  predict_proba(model, example))
