"""Model faults: the registry unreachable at API start, a corrupt new champion version.

The first runs the app in-process with its registry URI on a closed port; the second publishes a
registered version whose model file is garbage to the real MLflow server of the shared stack and
moves the ``champion`` alias to it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from fastapi.testclient import TestClient

from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import RATING_FEATURES
from soccer_serving.registry import check_booster
from tests.reliability.conftest import MATCH, RATINGS
from tests.soccer_serving.support import MLFLOW_TEST_ENV, Stack, labels

pytestmark = pytest.mark.integration


def test_registry_unreachable_at_start_ready_false_and_predict_503_not_500(
    offline_client: TestClient,
) -> None:
    ready = offline_client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    assert ready.json()["checks"]["model"]["ok"] is False
    assert ready.json()["checks"]["model"]["ratings"]["registry_error"]
    # Moved from tests/soccer_serving/test_api_unit.py (test_predict_without_model_is_503_not_500).
    r = offline_client.post("/v1/predict", json=MATCH)
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "model_unavailable"
    assert "registry unreachable" in err["message"]
    assert err["request_id"] == r.headers["x-request-id"]
    b = offline_client.post("/v1/predict/batch", json={"matches": [MATCH, MATCH]})
    assert b.status_code == 503


def _register_corrupt_version(tracking_uri: str, name: str, booster: xgb.Booster) -> str:
    """A version packaged like a real ``mlflow.xgboost`` model (MLmodel, signature-less) whose
    model file holds garbage bytes, registered from its run's artifacts."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        mlflow.xgboost.save_model(booster, str(path))
        model_files = [p for p in path.iterdir()
                       if p.name not in {"MLmodel", "conda.yaml", "python_env.yaml", "requirements.txt"}]
        assert model_files, list(path.iterdir())
        for p in model_files:
            p.write_bytes(b"\x00garbage, not a booster\xff" * 64)
        with mlflow.start_run() as run:
            mlflow.set_tag("feature_params_json", json.dumps(FeatureParams().as_dict()))
            mlflow.log_artifacts(str(path), "model")
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return str(mv.version)


def _wait_until_refused(stack: Stack, version: str, timeout: float = 60) -> dict[str, Any]:
    """The ratings variant of ``/v1/model`` once the poller has refused ``version``."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.client() as c:
            m: dict[str, Any] = c.get("/v1/model", headers=stack.headers).json()["variants"]["ratings"]
        if version in m["refused_versions"]:
            return m
        assert time.monotonic() < deadline, m
        time.sleep(0.2)


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.eE+-]+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


@pytest.mark.slow
def test_corrupt_new_version_keeps_the_old_one_serving_and_says_so(
    stack: Stack, rel_boosters: dict[str, xgb.Booster]
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=stack.mlflow_uri, registry_uri=stack.mlflow_uri)
    item = {k: v for k, v in stack.matches[0].items() if k != "odds"}
    with stack.client() as c:
        before = c.post("/v1/predict", json=item).json()
    old = before["model"]["version"]
    assert before["model"]["name"] == RATINGS

    bad = _register_corrupt_version(stack.mlflow_uri, RATINGS, rel_boosters["ratings"])
    client.set_registered_model_alias(RATINGS, "champion", bad)
    try:
        m = _wait_until_refused(stack, bad)
        # The old version keeps answering, with the same numbers.
        assert m["loaded"]["version"] == old and m["registry_version"] == bad
        assert "corrupt model artifact" in m["refused_versions"][bad]
        with stack.client() as c:
            after = c.post("/v1/predict", json=item)
            assert after.status_code == 200, after.text
            assert after.json()["model"]["version"] == old
            assert after.json()["probabilities"] == before["probabilities"]
            # ... and says so: /ready (still ready: a model is in), /metrics, the log.
            ready = c.get("/ready")
            assert ready.status_code == 200
            assert f"version {bad} refused" in ready.json()["checks"]["model"]["ratings"]["load_error"]
            metrics = c.get("/metrics").text
            assert _metric(metrics, 'soccer_model_stale{variant="ratings"}') == 1.0
            failures = _metric(metrics, 'soccer_model_load_failures_total{variant="ratings"}')
            assert failures >= 1
            # Refused for good: later polls (every 0.5 s) neither re-download nor count it again.
            time.sleep(2.0)
            again = _metric(c.get("/metrics").text, 'soccer_model_load_failures_total{variant="ratings"}')
            assert again == failures
        log = stack.api.log_path.read_text(errors="replace")
        assert re.search(rf"{RATINGS} v{bad} refused: corrupt model artifact", log), stack.api.log_tail()
    finally:
        client.set_registered_model_alias(RATINGS, "champion", old)


# ------------------------------------------------- checks before a new version serves (point 3)

def _booster(X: pd.DataFrame, y: np.ndarray, **params: Any) -> xgb.Booster:
    base = {"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "eta": 0.3, "seed": 0,
            "nthread": 1, "verbosity": 0}
    return xgb.train({**base, **params}, xgb.DMatrix(X, label=y), num_boost_round=5)


@pytest.fixture(scope="module")
def training(e0_features: pd.DataFrame, e0_matches: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    feats = e0_features[e0_features["season"] < "2023-24"].head(2000)
    return feats[list(RATING_FEATURES)], labels(e0_matches.set_index("match_id").loc[feats["match_id"]])


def _binary(X: pd.DataFrame, y: np.ndarray) -> xgb.Booster:
    params = {"objective": "binary:logistic", "max_depth": 2, "seed": 0, "nthread": 1, "verbosity": 0}
    return xgb.train(params, xgb.DMatrix(X, label=(y == 0).astype(int)), num_boost_round=5)


def _permuted(X: pd.DataFrame, y: np.ndarray) -> xgb.Booster:
    return _booster(X[list(reversed(X.columns))], y)


def test_the_checks_pass_a_sound_booster_and_name_what_is_wrong(training) -> None:
    X, y = training
    features = tuple(X.columns)
    check_booster(_booster(X, y), features)
    cases = {
        "binary:logistic": (_binary(X, y), "objective binary:logistic"),
        "softmax (labels, not probabilities)": (_booster(X, y, objective="multi:softmax"),
                                                 "objective multi:softmax"),
        "two classes": (_booster(X, np.minimum(y, 1), num_class=2), "2 classes"),
        "permuted features": (_permuted(X, y), "differ from the signature"),
        "unnamed, fewer features": (xgb.train({"objective": "multi:softprob", "num_class": 3},
                                              xgb.DMatrix(X.to_numpy()[:, :3], label=y), 2),
                                    "takes 3 features"),
    }
    for booster, message in cases.values():
        with pytest.raises(ValueError, match=re.escape(message)):
            check_booster(booster, features)


def _register_as_pipeline(tracking_uri: str, name: str, booster: xgb.Booster, X: pd.DataFrame) -> str:
    """Log and register ``booster`` with the signature of ``X`` (the pipeline's feature order),
    whatever order it was trained in, as mlflow.xgboost; returns the version."""
    import mlflow
    from mlflow.models import infer_signature

    for k, v in MLFLOW_TEST_ENV.items():
        os.environ.setdefault(k, v)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with mlflow.start_run():
        mlflow.set_tag("feature_params_json", json.dumps(FeatureParams().as_dict()))
        info = mlflow.xgboost.log_model(
            booster, name="model", signature=infer_signature(X, np.zeros((len(X), 3))),
            registered_model_name=name, pip_requirements=[f"xgboost=={xgb.__version__}"],
        )
    return str(info.registered_model_version)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["binary", "permuted"])
def test_a_binary_or_permuted_champion_is_refused_and_the_old_one_keeps_answering(
    stack: Stack, training, kind: str
) -> None:
    from mlflow import MlflowClient

    X, y = training
    client = MlflowClient(tracking_uri=stack.mlflow_uri, registry_uri=stack.mlflow_uri)
    item = {k: v for k, v in stack.matches[0].items() if k != "odds"}
    with stack.client() as c:
        before = c.post("/v1/predict", json=item).json()
    old = before["model"]["version"]
    booster = _binary(X, y) if kind == "binary" else _permuted(X, y)
    bad = _register_as_pipeline(stack.mlflow_uri, RATINGS, booster, X)
    client.set_registered_model_alias(RATINGS, "champion", bad)
    try:
        m = _wait_until_refused(stack, bad)
        expected = "objective binary:logistic" if kind == "binary" else "differ from the signature"
        assert expected in m["refused_versions"][bad]
        assert m["loaded"]["version"] == old
        with stack.client() as c:
            after = c.post("/v1/predict", json=item)
        assert after.status_code == 200, after.text
        assert after.json()["model"]["version"] == old
        assert after.json()["probabilities"] == before["probabilities"]
    finally:
        client.set_registered_model_alias(RATINGS, "champion", old)
