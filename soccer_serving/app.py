"""The prediction API: ``create_app(settings=None)`` builds the FastAPI application.

Routes: ``POST /v1/predict`` (in-process, on the loaded champion), ``POST /v1/predict/batch``,
``POST /v1/jobs`` + ``GET /v1/jobs/{id}`` (Dramatiq worker over Redis, state in the warehouse),
``GET /v1/model`` + ``POST /v1/model/reload``, ``GET /healthcheck``, ``GET /ready``, ``GET /metrics``.

Never imports Dagster (``soccer_assets.defs``/``definitions`` are off limits): the serving image
only needs the pure feature and modelling code, the warehouse tables and MLflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from soccer_assets.storage import serving as wh
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving import jobs as jobs_mod
from soccer_serving.auth import api_key_scheme, key_is_valid
from soccer_serving.logwriter import PredictionLogWriter
from soccer_serving.metrics import ApiMetrics, ServingCollector
from soccer_serving.middleware import ServingMiddleware
from soccer_serving.predictor import (
    MatchQuery,
    NoModel,
    Prediction,
    PredictionError,
    Predictor,
    TeamStateStore,
)
from soccer_serving.registry import ModelManager, feature_params_hash, short_error
from soccer_serving.schemas import (
    BatchItem,
    BatchRequest,
    BatchResponse,
    ErrorBody,
    ErrorResponse,
    JobAccepted,
    JobItemResult,
    JobProgress,
    JobRequest,
    JobStatus,
    MatchRequest,
    ModelRef,
    PredictionResponse,
    Probabilities,
    ReadyResponse,
    TeamStateRef,
)
from soccer_serving.settings import ServingSettings

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"


class ApiError(Exception):
    """An error answered as ``{"error": {...}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, suggestions: list[str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.suggestions = suggestions or []
        self.headers = headers

    @classmethod
    def from_prediction(cls, exc: PredictionError) -> ApiError:
        return cls(exc.status, exc.code, exc.message, exc.suggestions)


class BrokerUnavailable(RuntimeError):
    pass


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _err("Body that cannot be read (not UTF-8 / JSON, bad Content-Length)."),
    413: _err("Request body larger than SOCCER_MAX_BODY_BYTES."),
    500: _err("Unexpected error; the body carries a request id to quote, never a stack trace."),
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: _err("Missing or wrong X-API-Key.")}


class ServingState:
    """Everything the routes share; built by ``create_app``, started by its lifespan."""

    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self.metrics = ApiMetrics()
        self.log_writer: PredictionLogWriter | None = None
        self.warehouse = Warehouse(settings.warehouse_url, create_schema=False)
        self.store = TeamStateStore(self.warehouse, settings.team_state_ttl_seconds)
        self.predictor = Predictor(self.store)
        self.models = ModelManager(settings)
        self.broker = jobs_mod.make_broker(settings)
        self.actor = jobs_mod.api_actor(self.broker, settings)
        self.schema_ready = False
        self.schema_error: str | None = None
        self.first_refresh = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self.metrics.registry.register(
            ServingCollector(self.models, lambda: self.warehouse.engine if self.schema_ready else None,
                             lambda: self.log_writer)
        )

    @property
    def engine(self) -> Engine:
        return self.warehouse.engine

    # -- lifecycle -------------------------------------------------------------------------
    def ensure_schema(self) -> bool:
        if self.schema_ready:
            return True
        try:
            wh.create_serving_schema(self.engine)
        except Exception as exc:
            self.schema_error = short_error(exc)
            logger.warning("warehouse not ready: %s", self.schema_error)
            return False
        self.schema_ready = True
        self.schema_error = None
        return True

    async def start(self) -> None:
        await run_in_threadpool(self.ensure_schema)
        self.log_writer = PredictionLogWriter(self.engine, self.settings.prediction_log_mode)
        self.log_writer.start()
        self._poller = asyncio.create_task(self._poll_registry())
        timeout = self.settings.startup_load_timeout_seconds
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.first_refresh.wait(), timeout)

    async def stop(self) -> None:
        if self.log_writer is not None:
            await run_in_threadpool(self.log_writer.stop)
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        with contextlib.suppress(Exception):
            self.broker.client.close()
        self.warehouse.dispose()

    async def _poll_registry(self) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.models.refresh, abandon_on_cancel=True)
            except Exception:  # refresh never raises; belt and braces for the loop
                logger.exception("registry poll failed")
            finally:
                self.first_refresh.set()
            await asyncio.sleep(self.settings.registry_poll_seconds)

    # -- predictions -----------------------------------------------------------------------
    def predict_and_log(self, queries: list[MatchQuery], source: str, request_id: str
                        ) -> list[Prediction | PredictionError]:
        """Blocking: features, booster and the log insert (run in the threadpool)."""
        if not self.schema_ready and not self.ensure_schema():
            raise ApiError(503, "warehouse_unavailable", "the warehouse is not reachable")
        models = self.models.models  # one atomic snapshot for the whole request
        results = self.predictor.predict(queries, models)
        if not models:  # say why (unknown teams etc. are still reported as such)
            reason = NoModel(self._no_model_reason())
            results = [reason if isinstance(r, NoModel) else r for r in results]
        rows = [
            {**r.log_row(), "source": source, "request_id": request_id}
            for r in results
            if isinstance(r, Prediction)
        ]
        if self.log_writer is not None:
            self.log_writer.write(rows)
        else:
            wh.log_predictions(self.engine, rows)
        for r in results:
            if isinstance(r, Prediction):
                self.metrics.predictions.labels(r.model.variant, r.model.version, r.outcome, source).inc()
            else:
                self.metrics.prediction_errors.labels(r.code).inc()
        return results

    def _no_model_reason(self) -> str:
        parts = []
        for variant, st in self.models.status.items():
            if st.registry_error:
                parts.append(f"{variant}: model registry unreachable")
            elif st.load_error:
                parts.append(f"{variant}: {st.load_error}")
            elif st.last_check is None:
                parts.append(f"{variant}: not checked yet")
            elif st.registry_version is None:
                parts.append(f"{variant}: no version has the alias {self.settings.model_alias!r}")
        return "no model is loaded" + (f" ({'; '.join(parts)}; see /ready)" if parts else "")

    # -- jobs ------------------------------------------------------------------------------
    def submit_job(self, body: JobRequest) -> str:
        if not self.schema_ready and not self.ensure_schema():
            raise ApiError(503, "warehouse_unavailable", "the warehouse is not reachable")
        job_id = str(uuid.uuid4())
        items = [m.model_dump(mode="json", exclude_none=True) for m in body.matches] if body.matches else None
        request = body.model_dump(mode="json", exclude_none=True)
        if items is not None:
            request = {"matches": len(items)}
        # Insert, enqueue, commit: a broker failure rolls the row back (no orphaned job); a worker
        # that sees the message before the commit retries (JobNotFound) until the row is there.
        with self.engine.begin() as conn:
            wh.insert_job(conn, job_id, request, items)
            try:
                self.actor.send(job_id)
            except jobs_mod.BROKER_ERRORS as exc:
                raise BrokerUnavailable(short_error(exc)) from exc
        return job_id

    # -- readiness -------------------------------------------------------------------------
    def readiness(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        models = self.models.describe()
        loaded = any(m["loaded"] for m in models.values())
        checks["model"] = {"ok": loaded, **models}
        serving_hash = feature_params_hash(self.predictor.params)
        wh_ok = self.ensure_schema()
        wh_check: dict[str, Any] = {"ok": wh_ok}
        if wh_ok:
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                leagues = wh.team_state_summary(self.engine)
                wh_check["team_state"] = [
                    {
                        "league": r["league"],
                        "teams": int(r["teams"]),
                        "as_of": str(r["as_of"]),
                        "updated_at": str(r["updated_at"]),
                        "feature_params_match": r["hash_min"] == r["hash_max"] == serving_hash,
                    }
                    for r in leagues
                ]
                mismatched = [x["league"] for x in wh_check["team_state"] if not x["feature_params_match"]]
                if mismatched:
                    wh_check["feature_params_mismatch"] = mismatched
            except Exception as exc:
                wh_check = {"ok": False, "error": short_error(exc)}
        else:
            wh_check["error"] = self.schema_error
        checks["warehouse"] = wh_check
        try:
            self.broker.client.ping()
            checks["redis"] = {"ok": True}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": short_error(exc)}
        checks["feature_params_hash"] = serving_hash
        ready = bool(loaded and checks["warehouse"]["ok"] and checks["redis"]["ok"])
        return ready, checks


def _prediction_body(p: Prediction) -> PredictionResponse:
    return PredictionResponse(
        league=p.league,
        season=p.season,
        home_team=p.home_team,
        away_team=p.away_team,
        kickoff=p.kickoff,
        probabilities=Probabilities(home=p.p_home, draw=p.p_draw, away=p.p_away),
        predicted_outcome=p.outcome,  # type: ignore[arg-type]
        model=ModelRef(name=p.model.name, version=p.model.version, alias=p.model.alias,
                       variant=p.model.variant),  # type: ignore[arg-type]
        team_state=TeamStateRef(as_of=p.team_state_as_of, updated_at=p.team_state_updated_at),
    )


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex)


def _error_response(request: Request, status: int, code: str, message: str,
                    suggestions: list[str] | None = None, headers: dict[str, str] | None = None
                    ) -> JSONResponse:
    rid = _request_id(request)
    body = ErrorResponse(error=ErrorBody(code=code, message=message, suggestions=suggestions or [],
                                         request_id=rid))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """Build the API. Settings default to the environment (``SOCCER_*``)."""
    settings = settings or ServingSettings()
    state = ServingState(settings)
    keys = settings.api_key_list()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="soccer-predict serving API",
        version=API_VERSION,
        description=(
            "Probabilities of home win, draw and away win for football matches, from the "
            "registered champion models and the online team state. Errors are "
            '`{"error": {"code", "message", "suggestions", "request_id"}}` (422 validation errors '
            "keep FastAPI's `detail` list)."
        ),
        lifespan=lifespan,
        openapi_tags=[
            {"name": "predict", "description": "Synchronous predictions (in-process)."},
            {"name": "jobs", "description": "Asynchronous prediction jobs (worker over Redis)."},
            {"name": "model", "description": "The served models."},
            {"name": "ops", "description": "Health, readiness and metrics."},
        ],
    )
    app.state.serving = state
    app.add_middleware(ServingMiddleware, metrics=state.metrics, max_body_bytes=settings.max_body_bytes)

    # -- error handlers --------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(request, exc.status, exc.code, exc.message, exc.suggestions, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error_response(request, exc.status_code, f"http_{exc.status_code}", str(exc.detail),
                               headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("warehouse error on %s: %s", request.url.path, short_error(exc))
        return _error_response(request, 503, "warehouse_unavailable", "the warehouse is not reachable")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = _request_id(request)
        logger.exception("unhandled error (request_id=%s)", rid)
        return _error_response(request, 500, "internal_error",
                               f"internal error; quote request id {rid}",
                               headers={"x-request-id": rid})

    # -- auth ------------------------------------------------------------------------------
    def require_key(api_key: Annotated[str | None, Security(api_key_scheme)] = None) -> None:
        if keys and not key_is_valid(api_key, keys):
            raise ApiError(401, "unauthorized", "missing or invalid API key (header X-API-Key)",
                           headers={"WWW-Authenticate": "ApiKey"})

    predict_auth = [Depends(require_key)] if settings.protect_predict else []
    predict_errors = {
        **COMMON_ERRORS,
        **(AUTH_ERRORS if settings.protect_predict and keys else {}),
        404: _err("Unknown league or team; `suggestions` lists the closest known names."),
        503: _err("No model is loaded, or the warehouse is unreachable."),
    }

    # -- predict ---------------------------------------------------------------------------
    @app.post(
        "/v1/predict",
        tags=["predict"],
        response_model=PredictionResponse,
        responses=predict_errors,
        dependencies=predict_auth,
        summary="Predict one match",
        description="Features from `team_state` as of the kick-off date, then the champion booster. "
        "With odds and a `market` champion the market model answers, otherwise the ratings model.",
    )
    async def predict(body: MatchRequest, request: Request) -> PredictionResponse:
        q = jobs_mod.match_query(body)
        [res] = await run_in_threadpool(state.predict_and_log, [q], "api", _request_id(request))
        if isinstance(res, PredictionError):
            raise ApiError.from_prediction(res)
        return _prediction_body(res)

    @app.post(
        "/v1/predict/batch",
        tags=["predict"],
        response_model=BatchResponse,
        responses={**predict_errors, 404: _err("Not used: per-match errors are items.")},
        dependencies=predict_auth,
        summary="Predict several matches synchronously",
        description=f"At most SOCCER_BATCH_MAX_ITEMS (now {settings.batch_max_items}) matches; "
        "each item carries a prediction or its own error.",
    )
    async def predict_batch(body: BatchRequest, request: Request) -> BatchResponse:
        if len(body.matches) > settings.batch_max_items:
            raise ApiError(422, "batch_too_large",
                           f"{len(body.matches)} matches; at most {settings.batch_max_items} per batch "
                           "(use /v1/jobs for more)")
        queries = [jobs_mod.match_query(m) for m in body.matches]
        results = await run_in_threadpool(state.predict_and_log, queries, "batch", _request_id(request))
        if results and all(isinstance(r, NoModel) for r in results):
            raise ApiError.from_prediction(results[0])  # type: ignore[arg-type]
        items = []
        for i, r in enumerate(results):
            if isinstance(r, Prediction):
                items.append(BatchItem(index=i, prediction=_prediction_body(r)))
            else:
                items.append(BatchItem(index=i, error=ErrorBody(code=r.code, message=r.message,
                                                                suggestions=r.suggestions)))
        n_ok = sum(1 for r in results if isinstance(r, Prediction))
        return BatchResponse(results=items, n_ok=n_ok, n_errors=len(results) - n_ok)

    # -- jobs ------------------------------------------------------------------------------
    job_errors = {**COMMON_ERRORS, **AUTH_ERRORS, 503: _err("Redis (broker) or warehouse unavailable.")}

    @app.post(
        "/v1/jobs",
        tags=["jobs"],
        status_code=202,
        response_model=JobAccepted,
        responses=job_errors,
        dependencies=[Depends(require_key)],
        summary="Submit a prediction job",
        description="A list of matches (at most SOCCER_JOB_MAX_ITEMS), or "
        '`{"league": "E0", "upcoming": true}` for the league\'s fixtures from fixtures.csv. '
        "Runs in the worker; poll `GET /v1/jobs/{job_id}`.",
    )
    async def submit_job(body: JobRequest, request: Request) -> JSONResponse:
        if body.matches is not None and len(body.matches) > settings.job_max_items:
            raise ApiError(422, "job_too_large",
                           f"{len(body.matches)} matches; at most {settings.job_max_items} per job")
        try:
            job_id = await run_in_threadpool(state.submit_job, body)
        except BrokerUnavailable as exc:
            state.metrics.jobs_submitted.labels("broker_unavailable").inc()
            raise ApiError(503, "broker_unavailable",
                           f"the job queue (Redis) is unavailable; nothing was stored: {exc}") from None
        state.metrics.jobs_submitted.labels("accepted").inc()
        url = str(request.url_for("get_job", job_id=job_id).path)
        body_out = JobAccepted(job_id=job_id, status=wh.JOB_QUEUED, status_url=url)
        return JSONResponse(body_out.model_dump(), status_code=202, headers={"Location": url})

    @app.get(
        "/v1/jobs/{job_id}",
        name="get_job",
        tags=["jobs"],
        response_model=JobStatus,
        responses={**job_errors, 404: _err("No such job.")},
        dependencies=[Depends(require_key)],
        summary="Job status, progress and results",
    )
    async def get_job(
        job_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> JobStatus:
        def load() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            if not state.schema_ready and not state.ensure_schema():
                raise ApiError(503, "warehouse_unavailable", "the warehouse is not reachable")
            job = wh.get_job(state.engine, job_id)
            if job is None:
                return None, []
            return job, wh.read_job_results(state.engine, job_id, offset=offset, limit=limit)

        job, rows = await run_in_threadpool(load)
        if job is None:
            raise ApiError(404, "job_not_found", f"no job {job_id!r}")
        results = []
        for r in rows:
            item = JobItemResult(index=r["item_index"], ok=r["ok"], league=r["league"],
                                 home_team=r["home_team"], away_team=r["away_team"], kickoff=r["kickoff"],
                                 team_state_as_of=r["team_state_as_of"])
            if r["ok"]:
                item.probabilities = Probabilities(home=r["p_home"], draw=r["p_draw"], away=r["p_away"])
                item.model = {"name": r["model_name"], "version": r["model_version"]}
            else:
                item.error = ErrorBody(code=r["error_code"] or "error", message=r["error"] or "")
            results.append(item)
        return JobStatus(
            job_id=job["id"],
            status=job["status"],
            progress=JobProgress(done=job["n_done"], total=job["n_items"], item_errors=job["n_item_errors"]),
            attempts=job["attempts"],
            worker=job["worker"],
            error=job["error"],
            models=job["models"],
            created_at=job["created_at"],
            started_at=job["started_at"],
            finished_at=job["finished_at"],
            results=results,
            results_offset=offset,
            results_total=job["n_done"],
        )

    # -- model -----------------------------------------------------------------------------
    @app.get("/v1/model", tags=["model"], summary="The served models and the registry's view")
    async def model_info() -> dict[str, Any]:
        return {"alias": settings.model_alias, "variants": state.models.describe()}

    @app.post(
        "/v1/model/reload",
        tags=["model"],
        responses={**COMMON_ERRORS, **AUTH_ERRORS},
        dependencies=[Depends(require_key)],
        summary="Check the registry now (admin)",
    )
    async def model_reload() -> dict[str, Any]:
        await anyio.to_thread.run_sync(state.models.refresh)
        return {"alias": settings.model_alias, "variants": state.models.describe()}

    # -- ops -------------------------------------------------------------------------------
    @app.get("/healthcheck", tags=["ops"], summary="Liveness")
    async def healthcheck() -> dict[str, str]:
        return {"status": "ok", "time": dt.datetime.now(dt.UTC).isoformat()}

    @app.get(
        "/ready",
        tags=["ops"],
        response_model=ReadyResponse,
        responses={503: {"model": ReadyResponse, "description": "Not ready; `checks` says why."}},
        summary="Readiness: a model is loaded, warehouse and Redis answer",
    )
    async def ready() -> JSONResponse:
        ok, checks = await run_in_threadpool(state.readiness)
        return JSONResponse(ReadyResponse(ready=ok, checks=checks).model_dump(mode="json"),
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics",
             response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition"}})
    async def metrics() -> Response:
        data = await run_in_threadpool(generate_latest, state.metrics.registry)
        return Response(content=data, media_type=CONTENT_TYPE_LATEST)

    return app
