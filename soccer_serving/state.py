"""``ServingState``: everything the routes share (models, predictor, warehouse, broker, metrics).

Built by ``create_app`` and kept on ``app.state.serving``; its lifespan hooks (``start``/``stop``)
create the schema, start the prediction-log writer and poll the registry. Routes reach it through
the ``soccer_serving.deps.get_state`` dependency, never directly.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import math
import time
import uuid
from typing import Any

import anyio
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, text

from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage.warehouse import Warehouse
from soccer_serving.errors import ApiError, BrokerUnavailable, warehouse_unavailable
from soccer_serving.jobs import store as jobs_store
from soccer_serving.jobs.broker import BROKER_ERRORS, api_actor, make_broker
from soccer_serving.logwriter import PredictionLogWriter
from soccer_serving.manager import ModelManager
from soccer_serving.markets import needs_grid
from soccer_serving.metrics import ApiMetrics, ServingCollector
from soccer_serving.predictor import (
    MatchQuery,
    NoModel,
    Prediction,
    PredictionError,
    Predictor,
)
from soccer_serving.registry import feature_params_hash, hide_locations, preload_mlflow, short_error
from soccer_serving.schemas import JobRequest
from soccer_serving.settings import ServingSettings
from soccer_serving.team_states import NeedsIO, TeamStateStore

# The API's logger keeps the name it had when the API was one module, so log queries keep matching.
logger = logging.getLogger("soccer_serving.app")

# Requests with at most this many matches are computed on the event loop when nothing needs IO.
INLINE_MAX_QUERIES = 4


class ServingState:
    """Everything the routes share; built by ``create_app``, started by its lifespan."""

    def __init__(self, settings: ServingSettings):
        self.settings = settings
        self.metrics = ApiMetrics()
        self.log_writer: PredictionLogWriter | None = None
        self.warehouse = Warehouse(settings.warehouse_url, create_schema=False)
        self.store = TeamStateStore(self.warehouse, settings.team_state_ttl_seconds)
        self.predictor = Predictor.from_settings(self.store, settings)
        self.models = ModelManager(settings)
        self.broker = make_broker(settings)
        self.actor = api_actor(self.broker, settings)
        self.schema_ready = False
        self.schema_error: str | None = None
        self.first_refresh = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        # Admin reloads: one thread of their own (never the request threadpool), one at a time.
        self._reload_executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="reload")
        self._reload: asyncio.Future[Any] | None = None
        self._last_reload = -math.inf
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
            jobs_store.create_serving_schema(self.engine)
        except Exception as exc:
            self.schema_error = short_error(exc)
            logger.warning("warehouse not ready: %s", self.schema_error)
            return False
        self.schema_ready = True
        self.schema_error = None
        return True

    async def start(self) -> None:
        await run_in_threadpool(self.ensure_schema)
        # One thread imports MLflow before any request or poll can (see registry.preload_mlflow).
        await run_in_threadpool(preload_mlflow)
        self.log_writer = PredictionLogWriter(self.engine, self.settings.prediction_log_mode,
                                              max_queue=self.settings.prediction_log_max_queue)
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
        self._reload_executor.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.broker.client.close()
        self.warehouse.dispose()

    async def reload_models(self) -> None:
        """Check the registry now (``POST /v1/model/reload``). Calls during a check wait for that
        check instead of starting another; a call within ``reload_min_interval_seconds`` of the
        last check is refused (429) so reloads cannot pile up on the registry."""
        if self._reload is not None and not self._reload.done():
            await asyncio.shield(self._reload)
            return
        wait = self._last_reload + self.settings.reload_min_interval_seconds - time.monotonic()
        if wait > 0:
            ago = self.settings.reload_min_interval_seconds - wait
            raise ApiError(429, "reload_too_soon",
                           f"the registry was checked {ago:.1f} s ago; retry in {wait:.1f} s",
                           headers={"Retry-After": str(math.ceil(wait))})
        self._last_reload = time.monotonic()
        self._reload = asyncio.get_running_loop().run_in_executor(self._reload_executor, self.models.refresh)
        await asyncio.shield(self._reload)

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
    async def predict_async(self, queries: list[MatchQuery], source: str, request_id: str
                            ) -> list[Prediction | PredictionError]:
        """The routes' path: features and booster, then the log write the answer waits for.

        A small request whose leagues are in memory is computed on the event loop (well under a
        millisecond: no thread hop, no lock); anything that would read the warehouse, price score
        grids or predict many matches runs in the threadpool. The log write is a group commit
        awaited without holding a thread (:mod:`soccer_serving.logwriter`).
        """
        if not self.schema_ready and not await run_in_threadpool(self.ensure_schema):
            raise warehouse_unavailable()
        models = self.models.models  # one atomic snapshot for the whole request
        results: list[Prediction | PredictionError] | None = None
        if len(queries) <= INLINE_MAX_QUERIES and not any(needs_grid(q.markets) for q in queries):
            try:
                results = self.predictor.predict(queries, models, io=False)
            except NeedsIO:
                results = None
        if results is None:
            results = await run_in_threadpool(self.predictor.predict, queries, models)
        results = self._explain_no_model(results, models)
        rows = self._log_rows(results, source, request_id)
        if self.log_writer is not None:
            await self.log_writer.write_async(rows)
        elif rows:
            await run_in_threadpool(plog.log_predictions, self.engine, rows)
        self._count(results, source)
        return results

    def predict_and_log(self, queries: list[MatchQuery], source: str, request_id: str
                        ) -> list[Prediction | PredictionError]:
        """Blocking version of :meth:`predict_async` (for code that runs in a thread)."""
        if not self.schema_ready and not self.ensure_schema():
            raise warehouse_unavailable()
        models = self.models.models
        results = self._explain_no_model(self.predictor.predict(queries, models), models)
        rows = self._log_rows(results, source, request_id)
        if self.log_writer is not None:
            self.log_writer.write(rows)
        else:
            plog.log_predictions(self.engine, rows)
        self._count(results, source)
        return results

    def _explain_no_model(self, results: list[Prediction | PredictionError], models: Any
                          ) -> list[Prediction | PredictionError]:
        if models:
            return results
        # Say why (unknown teams etc. are still reported as such).
        reason = NoModel(self._no_model_reason())
        return [reason if isinstance(r, NoModel) else r for r in results]

    @staticmethod
    def _log_rows(results: list[Prediction | PredictionError], source: str, request_id: str
                  ) -> list[dict[str, Any]]:
        return [{**r.log_row(), "source": source, "request_id": request_id}
                for r in results if isinstance(r, Prediction)]

    def _count(self, results: list[Prediction | PredictionError], source: str) -> None:
        # One increment per label set, not per prediction (a batch has a handful of label sets).
        counts: collections.Counter[tuple[str, ...]] = collections.Counter(
            (r.model.variant, r.model.version, r.outcome) if isinstance(r, Prediction) else (r.code,)
            for r in results)
        for labels, n in counts.items():
            if len(labels) == 3:
                self.metrics.count_prediction(*labels, source, n=n)
            else:
                self.metrics.count_error(labels[0], n=n)

    def _no_model_reason(self) -> str:
        parts = []
        for variant, st in self.models.status.items():
            if st.registry_error:
                parts.append(f"{variant}: model registry unreachable")
            elif st.load_error:  # an anonymous caller's answer: no hosts or ports of the registry
                parts.append(f"{variant}: {hide_locations(st.load_error)}")
            elif st.last_check is None:
                parts.append(f"{variant}: not checked yet")
            elif st.registry_version is None:
                parts.append(f"{variant}: no version has the alias {self.settings.model_alias!r}")
        return "no model is loaded" + (f" ({'; '.join(parts)}; see /ready)" if parts else "")

    # -- jobs ------------------------------------------------------------------------------
    def submit_job(self, body: JobRequest) -> str:
        if not self.schema_ready and not self.ensure_schema():
            raise warehouse_unavailable()
        job_id = str(uuid.uuid4())
        items = [m.model_dump(mode="json", exclude_none=True) for m in body.matches] if body.matches else None
        request = body.model_dump(mode="json", exclude_none=True)
        if items is not None:
            request = {"matches": len(items)}
        # Insert, enqueue, commit: a broker failure rolls the row back (no orphaned job); a worker
        # that sees the message before the commit retries (JobNotFound) until the row is there.
        with self.engine.begin() as conn:
            jobs_store.insert_job(conn, job_id, request, items)
            try:
                self.actor.send(job_id)
            except BROKER_ERRORS as exc:
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
                leagues = plog.team_state_summary(self.engine)
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
        settings = self.settings
        checks["auth"] = {
            "ok": True,
            "mode": "disabled" if settings.auth_disabled else "api_keys",
            "client_keys": bool(settings.api_keys), "admin_keys": bool(settings.admin_key_list()),
            **({"note": "SOCCER_AUTH_DISABLED: job and admin routes are open (local use only)"}
               if settings.auth_disabled else {}),
        }
        checks["feature_params_hash"] = serving_hash
        ready = bool(loaded and checks["warehouse"]["ok"] and checks["redis"]["ok"])
        return ready, checks
