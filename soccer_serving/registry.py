"""Models from the MLflow registry: look up an alias, download, load and check one version.

Model contract (what the training pipeline registers): registered models ``soccer-outcome-ratings``
and ``soccer-outcome-market``, promoted with the alias ``champion``. Two packagings are served:

* ``mlflow.xgboost`` of an ``xgboost.Booster`` (``multi:softprob``, classes H, D, A) whose
  signature's input columns, in order, are its feature columns; probabilities are
  ``booster.predict(xgb.DMatrix(X[feature_columns]))``;
* the pipeline's pyfunc package (``soccer_assets.storage.model_store``, format
  ``soccer_assets.modeling.artifact``: ``booster.ubj`` + ``model_meta.json``), read without
  unpickling its class; probabilities are
  ``soccer_assets.modeling.train.predict_proba`` (best iteration, base margin, temperature).

The run should carry the tag ``feature_params_json`` (or ``feature.*`` params) of the
``FeatureParams`` used to build the training features. A version whose parameters differ from the
ones this server computes features with is refused; one that records none is served with the
defaults assumed, which ``/ready`` and ``/v1/model`` report.

MLflow is imported lazily (it takes seconds), so the API answers ``/healthcheck`` at once and
``/ready`` says when the models are in. Holding and hot-swapping the champions is
:mod:`soccer_serving.manager`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from soccer_assets.features.params import FeatureParams
from soccer_assets.features.state import FEATURE_COLUMNS, RATING_FEATURES
from soccer_serving.model_checks import check_booster, check_smoke
from soccer_serving.settings import ServingSettings

__all__ = ["LoadedModel", "RegistryClient", "check_booster", "check_smoke", "signature_features"]

logger = logging.getLogger(__name__)

OUTCOMES = ("H", "D", "A")


def serving_feature_params() -> FeatureParams:
    """The feature parameters this server computes features with."""
    return FeatureParams()


def feature_params_json(params: FeatureParams) -> Any:
    """``as_dict`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(params.as_dict(), sort_keys=True, default=str))


def feature_params_hash(params: FeatureParams) -> str:
    """Same hash as the pipeline writes into ``team_state.feature_params_hash``."""
    import hashlib

    blob = json.dumps(params.as_dict(), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class CorruptModel(ValueError):
    """A version whose downloaded artifact cannot be read as a model (refused, never retried)."""


class ModelUnavailable(RuntimeError):
    """No usable model is loaded (registry unreachable, no champion, refused version)."""


@dataclass(frozen=True)
class LoadedModel:
    """One registered model version, loaded and checked. Immutable: swapped as a whole.

    ``format`` is ``"xgboost"`` (the contract: an ``mlflow.xgboost`` Booster, probabilities
    ``booster.predict(DMatrix(X))``) or ``"outcome_pyfunc"`` (the pipeline's
    ``soccer_assets.storage.model_store`` package: booster + ``model_meta.json``, probabilities
    ``modeling.train.predict_proba``, which applies best iteration, base margin and temperature).
    """

    variant: str
    name: str
    version: str
    alias: str | None
    run_id: str | None
    booster: xgb.Booster = field(repr=False)
    features: tuple[str, ...]
    loaded_at: dt.datetime
    format: str = "xgboost"
    trained: Any = field(default=None, repr=False)  # modeling.train.TrainedModel (outcome_pyfunc)
    feature_params_note: str | None = None
    # modeling.forest.Forest of the trained rounds: a few rows without XGBoost's per-call cost.
    forest: Any = field(default=None, repr=False)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """(n, 3) probabilities of H, D, A for a feature frame."""
        if self.trained is not None:
            from soccer_assets.modeling.train import predict_proba

            return np.asarray(predict_proba(self.trained, X), dtype=np.float64).reshape(-1, len(OUTCOMES))
        return self.predict_array(X[list(self.features)].to_numpy(dtype=np.float64))

    def predict_rows(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Same as ``predict`` for feature dicts: rows assembled in numpy, no DataFrame, no DMatrix."""
        if self.trained is None:
            return self.predict_array(_matrix(rows, self.features))
        from soccer_assets.modeling.train import predict_proba_matrix

        base = self.trained.base_margin_columns
        base_p = _matrix(rows, base) if base is not None else None
        proba = predict_proba_matrix(self.trained, _matrix(rows, self.features), base_p, self.forest)
        return np.asarray(proba, dtype=np.float64).reshape(-1, len(OUTCOMES))

    def predict_array(self, arr: np.ndarray) -> np.ndarray:
        # float32 is what XGBoost holds a float64 DMatrix as, so results equal ``booster.predict``.
        x = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1, len(self.features))
        proba = self.booster.inplace_predict(x, missing=np.nan)
        return np.asarray(proba, dtype=np.float64).reshape(-1, len(OUTCOMES))

    def describe(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "run_id": self.run_id,
            "format": self.format,
            "n_features": len(self.features),
            # Who walks the trees of a request of a few rows (modeling.forest), XGBoost beyond.
            "small_requests": "numpy trees" if self.forest is not None else "xgboost",
            "loaded_at": self.loaded_at.isoformat(),
            "feature_params": self.feature_params_note or "match the serving parameters",
        }


def _matrix(rows: Sequence[Mapping[str, float]], columns: Sequence[str]) -> np.ndarray:
    n, k = len(rows), len(columns)
    flat = np.fromiter((r[c] for r in rows for c in columns), dtype=np.float64, count=n * k)
    return flat.reshape(n, k)


def _configure_mlflow_env(settings: ServingSettings) -> None:
    # Read by MLflow's REST client on every call: an unreachable registry fails in seconds.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(settings.mlflow_request_timeout_seconds))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.mlflow_request_max_retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")


class RegistryClient:
    """Thin wrapper over MLflow: alias lookup and loading of one version (blocking calls)."""

    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                _configure_mlflow_env(self.settings)
                from mlflow import MlflowClient

                uri = self.settings.mlflow_tracking_uri
                self._client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            return self._client

    def warm(self) -> None:
        """Create the MLflow client ahead of the first job/poll; never raises.

        Call :func:`preload_mlflow` in the main thread first: this may run beside worker threads.
        """
        try:
            preload_mlflow()
            self.client()
        except Exception as exc:  # pragma: no cover - best effort
            logger.warning("MLflow warm-up failed: %s", short_error(exc))

    def alias_version(self, name: str, alias: str) -> str | None:
        """Version the alias points to; None when the model or alias does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client().get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                return None
            raise
        return str(mv.version)

    def load(self, variant: str, name: str, version: str, alias: str | None) -> LoadedModel:
        """Download, load and check one version. Raises ``ValueError`` for a refused version."""
        import mlflow.artifacts
        from mlflow.models import Model

        client = self.client()
        mv = client.get_model_version(name, version)
        run_id = mv.run_id
        note = check_feature_params(client.get_run(run_id).data) if run_id else (
            "unknown (the version has no run); assumed the serving defaults"
        )
        tmp = tempfile.mkdtemp(prefix="soccer-model-")
        try:
            # The version's artifact location (not ``models:/``, which MLflow resolves against the
            # process-global registry URI).
            source = client.get_model_version_download_uri(name, version)
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=source,
                dst_path=tmp,
                tracking_uri=self.settings.mlflow_tracking_uri,
            )
            # The bytes are here: from now on every failure is a property of this version (garbage
            # artifact, missing booster, unreadable MLmodel), not of the network. Refuse it for good
            # (no re-download on every poll); the previous version stays in service.
            try:
                meta = Model.load(local)
                if "xgboost" in meta.flavors:
                    import mlflow.xgboost

                    from soccer_assets.storage.model_package import inside

                    # mlflow.xgboost imports model_class and joins data to the directory: both
                    # come from the registry, so only the expected values pass.
                    conf = meta.flavors["xgboost"]
                    if conf.get("model_class") not in XGBOOST_MODEL_CLASSES:
                        raise ValueError(f"refused: xgboost model_class {conf.get('model_class')!r} "
                                         f"is not one of {list(XGBOOST_MODEL_CLASSES)}")
                    inside(Path(local), str(conf.get("data") or ""), "xgboost data")

                    booster = mlflow.xgboost.load_model(local)
                    if not isinstance(booster, xgb.Booster):
                        raise ValueError(f"{name} v{version} is a {type(booster).__name__}, "
                                         "not an xgboost.Booster")
                    features = signature_features(meta.signature, variant)
                    trained, fmt, smoke = None, "xgboost", None
                else:
                    trained = _load_outcome_pyfunc(Path(local), meta)
                    smoke = _smoke_rows(Path(local), meta)
                    booster = trained.booster
                    features = tuple(trained.features)
                    _check_features(features, variant)
                    if trained.goals is not None:
                        _check_features(tuple(trained.goals.features), variant, "goal model")
                    fmt = "outcome_pyfunc"
            except xgb.core.XGBoostError as exc:  # a ValueError subclass, but says "garbage bytes"
                raise CorruptModel(f"corrupt model artifact: {short_error(exc)}") from exc
            except (ValueError, ImportError):  # refused already / broken install, not the version
                raise
            except Exception as exc:
                raise CorruptModel(f"corrupt model artifact: {short_error(exc)}") from exc
            check_booster(booster, features)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        booster.set_param({"nthread": 1})
        forest = _forest(trained) if trained is not None else None
        loaded = LoadedModel(
            variant=variant,
            name=name,
            version=str(version),
            alias=alias,
            run_id=run_id,
            booster=booster,
            features=features,
            loaded_at=dt.datetime.now(dt.UTC),
            format=fmt,
            trained=trained,
            feature_params_note=note,
            forest=forest,
        )
        if smoke is not None:
            check_smoke(loaded, *smoke)
        return loaded


def _forest(trained: Any) -> Any:
    """The booster's trees in numpy (``modeling.forest``), or None: XGBoost then answers every call."""
    from soccer_assets.modeling.forest import Forest

    try:
        return Forest.from_booster(trained.booster, trained.best_iteration + 1)
    except Exception as exc:  # UnsupportedForest or a model dump it cannot read: XGBoost still can
        logger.warning("predicting with XGBoost only: %s: %s", type(exc).__name__, exc)
        return None


XGBOOST_MODEL_CLASSES = ("xgboost.core.Booster",)


def preload_mlflow() -> None:
    """Import every MLflow module serving uses, once, in the calling thread.

    Why: MLflow's first import builds protobuf descriptors; two threads doing it at once (a worker
    started with a backlog: both threads take a job at the same moment) leave one with a broken,
    half-initialised ``mlflow`` module and every later job of that process fails. Called in the main
    thread before the worker takes work and before the API serves.
    """
    import mlflow
    import mlflow.artifacts
    import mlflow.exceptions
    import mlflow.models
    import mlflow.xgboost  # noqa: F401


def _load_outcome_pyfunc(local: Path, meta: Any) -> Any:
    """The pipeline's pyfunc package read from its files, never unpickled or run
    (:func:`soccer_assets.storage.model_package.read_outcome_package`)."""
    from soccer_assets.storage.model_package import read_outcome_package

    return read_outcome_package(Path(local), meta.flavors)


def check_feature_params(run_data: Any) -> str | None:
    """Compare the run's feature parameters with the serving ones.

    Raises ``ValueError`` when they differ (the model would see other features than it was trained
    on). Returns ``None`` when they match, or a note when the run records none (then the serving
    defaults are assumed and ``/ready`` and ``/v1/model`` say so).
    """
    expected = feature_params_json(serving_feature_params())
    tags: Mapping[str, str] = getattr(run_data, "tags", {}) or {}
    params: Mapping[str, str] = getattr(run_data, "params", {}) or {}
    if "feature_params_json" in tags:
        got = json.loads(tags["feature_params_json"])
        got = json.loads(json.dumps(got, sort_keys=True, default=str))
        if got != expected:
            diff = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            raise ValueError(
                "model was trained on features built with other FeatureParams "
                f"(differs in {diff}); this server only computes the default parameters"
            )
        return None
    logged = {k[len("feature."):]: v for k, v in params.items() if k.startswith("feature.")}
    if not logged:
        return "not recorded by the training run (no feature_params_json tag); assumed the serving defaults"
    want = {k: str(v) for k, v in serving_feature_params().as_dict().items()}
    diff = sorted(k for k in set(want) | set(logged) if want.get(k) != logged.get(k))
    if diff:
        raise ValueError(f"model was trained with other feature parameters (differs in {diff})")
    return None


def _smoke_rows(local: Path, meta: Any) -> Any:
    from soccer_assets.storage.model_package import read_smoke_rows

    return read_smoke_rows(local, meta.flavors)


def signature_features(signature: Any, variant: str) -> tuple[str, ...]:
    """Feature columns from the model signature, checked against the feature library."""
    if signature is None or signature.inputs is None:
        raise ValueError("model has no input signature: feature columns unknown")
    names = tuple(str(n) for n in signature.inputs.input_names())
    _check_features(names, variant)
    return names


def _check_features(names: tuple[str, ...], variant: str, what: str = "model") -> None:
    unknown = [n for n in names if n not in FEATURE_COLUMNS]
    if unknown:
        raise ValueError(f"the {what} uses columns this server cannot compute: {unknown[:5]}")
    # The ratings variant answers requests without odds: a market column would always be missing.
    if variant == "ratings" and any(n not in RATING_FEATURES for n in names):
        raise ValueError(f"the ratings {what} uses market features")


# ``scheme://user:password@host`` in a message (MLflow puts the tracking URI, credentials included,
# into its request errors; drivers may echo a DSN).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@")


# What locates a dependency in an error text: URLs, IPv4 addresses (quoted or not), "port N",
# ":port" after a host, and the host names drivers quote ('host name "db"', 'server at "db"').
_LOCATORS = [
    (re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>)]+"), "<url>"),
    (re.compile(r"(host(?: name)?|server at|connecting to)\s+\"[^\"]*\"", re.I), r"\1 <host>"),
    (re.compile(r"\"?\b\d{1,3}(?:\.\d{1,3}){3}\b\"?(?::\d{1,5})?"), "<host>"),
    (re.compile(r"\b(port)(\s*=\s*|\s+)\d{1,5}\b", re.I), r"\1\2<n>"),
    (re.compile(r"\b(localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b", re.I), "<host>"),
]


def hide_locations(text: str) -> str:
    """``text`` without the URLs, hosts and ports of the services it names (for anonymous callers:
    the log and key holders keep the full message)."""
    for pattern, repl in _LOCATORS:
        text = pattern.sub(repl, text)
    return text


def without_locations(value: Any, texts: bool = False) -> Any:
    """A status document (``/ready``'s checks, ``/v1/model``) with its error texts (``*error`` keys,
    refusal reasons) passed through :func:`hide_locations`."""
    if isinstance(value, dict):
        return {k: without_locations(v, texts or k.endswith("error") or k == "refused_versions")
                for k, v in value.items()}
    if isinstance(value, list):
        return [without_locations(v, texts) for v in value]
    return hide_locations(value) if texts and isinstance(value, str) else value


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def short_error(exc: BaseException, limit: int = 300) -> str:
    """One line for logs, ``/ready`` and error answers: type, message, credentials redacted."""
    text = redact(f"{type(exc).__name__}: {exc}")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
