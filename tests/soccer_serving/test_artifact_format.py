"""Serving and the pipeline read a model artifact with the one reader
(``soccer_assets.modeling.artifact``): same model from the same files, and serving never unpickles."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from soccer_assets.modeling import artifact
from soccer_assets.modeling.train import TrainedModel, predict_proba
from soccer_assets.storage.model_store import load_trained, save_trained
from soccer_serving.registry import _load_outcome_pyfunc

FEATURES = ["elo_diff", "home_elo"]
CODE_LOADER = "mlflow.pyfunc.loaders.code_model"


def _trained() -> TrainedModel:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(120, 2)), columns=FEATURES)
    y = rng.integers(0, 3, size=120)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "seed": 0},
                        xgb.DMatrix(X, label=y), num_boost_round=8)
    return TrainedModel(booster=booster, variant="ratings", features=FEATURES, best_iteration=5,
                        params={"max_depth": 2}, seed=0, validation_metrics={"rps": 0.2},
                        prior=[0.45, 0.27, 0.28], temperature=1.1)


def _pyfunc_meta(paths: dict[str, str], root: Path) -> SimpleNamespace:
    rel = {k: str(Path(v).relative_to(root)) for k, v in paths.items()}
    artifacts = {k: {"path": p} for k, p in rel.items()}
    return SimpleNamespace(flavors={"python_function": {"artifacts": artifacts, "loader_module": CODE_LOADER,
                                                        "model_code_path": "outcome_pyfunc.py"}})


def test_pipeline_and_serving_read_the_same_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _trained()
    paths = save_trained(model, tmp_path)
    assert {Path(p).name for p in paths.values()} == {artifact.BOOSTER_FILE, artifact.META_FILE}
    assert set(json.loads(Path(paths["meta"]).read_text())) == set(artifact.META_KEYS)

    pipeline = load_trained(paths["booster"], paths["meta"])

    def no_unpickling(*args: object, **kwargs: object) -> None:
        raise AssertionError("serving must not unpickle a model")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    serving = _load_outcome_pyfunc(tmp_path, _pyfunc_meta(paths, tmp_path))

    X = pd.DataFrame(np.random.default_rng(1).normal(size=(30, 2)), columns=FEATURES)
    expected = predict_proba(model, X)
    for loaded in (pipeline, serving):
        assert artifact.meta_of(loaded) == artifact.meta_of(model)
        assert artifact.booster_bytes(loaded.booster) == artifact.booster_bytes(model.booster)
        np.testing.assert_array_equal(predict_proba(loaded, X), expected)


def test_serving_finds_the_files_without_artifact_paths_and_refuses_bad_ones(tmp_path: Path) -> None:
    model = _trained()
    save_trained(model, tmp_path / "nested")
    no_paths = SimpleNamespace(flavors={"python_function": {"loader_module": "mlflow.pyfunc.model"}})
    assert artifact.meta_of(_load_outcome_pyfunc(tmp_path, no_paths)) == artifact.meta_of(model)

    meta = json.loads((tmp_path / "nested" / artifact.META_FILE).read_text())
    del meta["best_iteration"]
    (tmp_path / "nested" / artifact.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"model_meta.json lacks \['best_iteration'\]"):
        _load_outcome_pyfunc(tmp_path, no_paths)

    (tmp_path / "nested" / artifact.BOOSTER_FILE).write_bytes(b"not a booster")
    with pytest.raises(xgb.core.XGBoostError):
        _load_outcome_pyfunc(tmp_path, no_paths)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="unsupported model format"):
        _load_outcome_pyfunc(empty, no_paths)


def test_optional_meta_keys_take_their_defaults() -> None:
    model = _trained()
    raw = artifact.booster_bytes(model.booster)
    loaded = artifact.trained_from_parts(raw, {"features": FEATURES, "best_iteration": 3, "extra": 1})
    assert (loaded.variant, loaded.params, loaded.seed, loaded.validation_metrics) == ("ratings", {}, 0, {})
    assert loaded.temperature == 1.0 and loaded.base_margin_columns is None


def test_an_mlmodel_with_another_loader_or_paths_outside_the_model_is_refused(tmp_path: Path) -> None:
    model = _trained()
    paths = save_trained(model, tmp_path / "model")
    good = _pyfunc_meta(paths, tmp_path / "model").flavors["python_function"]
    root = tmp_path / "model"
    assert artifact.meta_of(_load_outcome_pyfunc(root, SimpleNamespace(flavors={"python_function": good})))
    (tmp_path / "elsewhere.ubj").write_bytes(artifact.booster_bytes(model.booster))
    bad = {
        "another loader": ({**good, "loader_module": "evil.loader"}, "MLmodel loader 'evil.loader'"),
        "no loader": ({k: v for k, v in good.items() if k != "loader_module"}, "MLmodel loader None"),
        "other model code": ({**good, "model_code_path": "/tmp/x/run_me.py"}, "is not soccer-predict's"),
        "path outside": ({**good, "artifacts": {**good["artifacts"],
                                                "booster": {"path": "../elsewhere.ubj"}}},
                         "leaves the model directory"),
        "absolute path": ({**good, "artifacts": {**good["artifacts"],
                                                 "booster": {"path": str(tmp_path / "elsewhere.ubj")}}},
                          "is not relative"),
    }
    for conf, message in bad.values():
        with pytest.raises(ValueError, match=re.escape(message)):
            _load_outcome_pyfunc(root, SimpleNamespace(flavors={"python_function": conf}))
