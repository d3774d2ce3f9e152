"""Read a registered outcome model from its downloaded files, never from a pickle (IO: files).

The pipeline (:mod:`soccer_assets.storage.model_store`) and serving (``soccer_serving.registry``)
both read a version through :func:`read_outcome_package`: the MLmodel's ``python_function`` flavor
must name one of the expected loaders, and every artifact path it gives must lie inside the
downloaded directory; the booster and its JSON description are then read as data
(:mod:`soccer_assets.modeling.artifact`). A ``python_model.pkl`` (versions logged before the
models-from-code package) is never opened, so whoever can write to the registry cannot run code
in the pipeline or the API by registering a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soccer_assets.modeling import artifact
from soccer_assets.modeling.train import TrainedModel

# The file MLflow stores for the models-from-code package (soccer_assets/storage/outcome_pyfunc.py).
MODEL_CODE_FILE = "outcome_pyfunc.py"
# models-from-code (today) and the CloudPickle pyfunc of earlier versions (files only, see above).
EXPECTED_LOADERS = ("mlflow.pyfunc.loaders.code_model", "mlflow.pyfunc.model")


def inside(root: Path, rel: str, what: str) -> Path:
    """``root / rel`` if it stays inside ``root``; a ValueError names the offending path otherwise."""
    if not rel or Path(rel).is_absolute():
        raise ValueError(f"refused: {what} path {rel!r} is not relative to the model directory")
    path = (root / rel).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"refused: {what} path {rel!r} leaves the model directory")
    return path


def _find(local: Path, name: str) -> Path | None:
    return next(iter(local.rglob(name)), None)


def _artifact_paths(local: Path, conf: Mapping[str, Any]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for key, entry in (conf.get("artifacts") or {}).items():
        rel = entry.get("path") if isinstance(entry, dict) else entry
        paths[key] = inside(local, str(rel or ""), f"artifact {key!r}")
    return paths


def read_smoke_rows(local: Path, flavors: Mapping[str, Any]
                    ) -> tuple[list[dict[str, float]], list[list[float]]] | None:
    """The feature rows stored with the version and the run's probabilities for them
    (:data:`soccer_assets.modeling.artifact.SMOKE_FILE`), or None for a version logged without."""
    paths = _artifact_paths(local, flavors.get("python_function") or {})
    path = paths.get(artifact.SMOKE_ARTIFACT)
    if path is None or not path.exists():
        return None
    return artifact.parse_smoke(path.read_text())


def read_outcome_package(local: Path, flavors: Mapping[str, Any]) -> TrainedModel:
    """The :class:`TrainedModel` of a downloaded pyfunc package whose MLmodel flavors are ``flavors``."""
    conf = flavors.get("python_function") or {}
    loader = conf.get("loader_module")
    if loader not in EXPECTED_LOADERS:
        raise ValueError(f"refused: MLmodel loader {loader!r} is not one of {list(EXPECTED_LOADERS)}")
    code = conf.get("model_code_path")
    if loader == EXPECTED_LOADERS[0] and Path(str(code)).name != MODEL_CODE_FILE:
        raise ValueError(f"refused: model code {code!r} is not soccer-predict's {MODEL_CODE_FILE}")
    paths = _artifact_paths(local, conf)
    booster_path = paths.get(artifact.BOOSTER_ARTIFACT) or _find(local, artifact.BOOSTER_FILE)
    meta_path = paths.get(artifact.META_ARTIFACT) or _find(local, artifact.META_FILE)
    if booster_path is None or meta_path is None or not booster_path.exists() or not meta_path.exists():
        raise ValueError("unsupported model format: neither an mlflow.xgboost model nor the "
                         f"outcome pyfunc package ({artifact.BOOSTER_FILE} + {artifact.META_FILE})")
    info = artifact.parse_meta(meta_path.read_text())
    goals_path = paths.get(artifact.GOALS_BOOSTER_ARTIFACT)
    if goals_path is None and artifact.GOALS_META_KEY in info:
        goals_path = _find(local, artifact.GOALS_BOOSTER_FILE)
    goals = goals_path.read_bytes() if goals_path is not None and goals_path.exists() else None
    return artifact.trained_from_parts(booster_path.read_bytes(), info, goals)
