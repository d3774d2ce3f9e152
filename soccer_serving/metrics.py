"""Prometheus metrics of the API (per-app registry) and of the job worker.

Event metrics (requests, latency, predictions) are counted as they happen. State metrics (loaded
model versions, load failures, jobs by status and their durations, team-state age) are read at
scrape time by :class:`ServingCollector`, so they are right whichever process changed the state
(jobs finish in the worker, team state is written by the pipeline).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from soccer_assets.core.seasons import as_date
from soccer_assets.monitoring.freshness import DEFAULT_MAX_AGE_DAYS, freshness
from soccer_assets.storage import prediction_log as plog
from soccer_assets.storage import tables
from soccer_serving.jobs import store as jobs_store

if TYPE_CHECKING:  # pragma: no cover
    from soccer_serving.registry import ModelManager

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiMetrics:
    """The API's event metrics on its own registry (several apps in one process don't clash)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "soccer_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "soccer_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "soccer_predictions_total",
            "Predictions served, by model variant, version, most likely outcome and source.",
            ["variant", "version", "outcome", "source"],
            registry=self.registry,
        )
        self.prediction_errors = Counter(
            "soccer_prediction_errors_total",
            "Requests (or batch items) that got no prediction, by error code.",
            ["code"],
            registry=self.registry,
        )
        self.jobs_submitted = Counter(
            "soccer_jobs_submitted_total",
            "Job submissions by outcome (accepted, broker_unavailable).",
            ["outcome"],
            registry=self.registry,
        )

        # Labelled children by label values: ``labels()`` validates the values and takes the
        # metric's lock on every call; a child, once made, is thread-safe on its own.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        s = str(status)
        self._child(self.requests, method, route, s).inc()
        self._child(self.latency, method, route, s).observe(seconds)

    def count_prediction(self, variant: str, version: str, outcome: str, source: str, n: int = 1) -> None:
        self._child(self.predictions, variant, version, outcome, source).inc(n)

    def count_error(self, code: str, n: int = 1) -> None:
        self._child(self.prediction_errors, code).inc(n)


class ServingCollector(Collector):
    """Scrape-time metrics from the model manager and the warehouse."""

    def __init__(self, manager: ModelManager, engine_fn: Callable[[], Engine | None],
                 log_writer_fn: Callable[[], Any] | None = None, *,
                 freshness_days: int = DEFAULT_MAX_AGE_DAYS,
                 clock: Callable[[], dt.datetime] | None = None):
        self.manager = manager
        self.engine_fn = engine_fn
        self.log_writer_fn = log_writer_fn
        self.freshness_days = freshness_days
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def collect(self) -> Iterator[Any]:
        yield from self._models()
        yield from self._log_writer()
        yield from self._warehouse()
        yield from self._freshness()
        yield from self._live()

    def _freshness(self) -> Iterator[Any]:
        """Age of each league's latest match in ``matches`` and in ``team_state``, and whether it is
        stale: the rule of the Dagster checks ``matches_fresh``/``team_state_fresh``
        (:mod:`soccer_assets.monitoring.freshness`)."""
        engine = self.engine_fn()
        if engine is None:
            return
        t = tables.matches
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(t.c.league, func.max(t.c.date)).group_by(t.c.league)).all()
            latest = {"matches": {str(lg): as_date(d) for lg, d in rows if d is not None},
                      "team_state": {str(r["league"]): as_date(r["as_of"]) - dt.timedelta(days=1)
                                     for r in plog.team_state_summary(engine)}}
        except Exception as exc:  # reported by soccer_warehouse_up; a scrape must not fail
            logger.warning("metrics: freshness unreadable: %s", exc)
            return
        now = self.clock()
        age = GaugeMetricFamily("soccer_data_age_seconds",
                                "Seconds since the latest match of a league in an asset "
                                "(matches, team_state).",
                                labels=["asset", "league"])
        stale = GaugeMetricFamily("soccer_data_stale",
                                  "1 if, in season, the asset's latest match of the league is older than the "
                                  "freshness window (soccer_data_freshness_window_seconds).",
                                  labels=["asset", "league"])
        window = GaugeMetricFamily("soccer_data_freshness_window_seconds",
                                   "The freshness window of the current season's data.")
        window.add_metric([], self.freshness_days * 86400.0)
        for asset, by_league in latest.items():
            for league, day in sorted(by_league.items()):
                midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
                age.add_metric([asset, league], max(0.0, (now - midnight).total_seconds()))
                verdict = freshness(day, now.date(), self.freshness_days)
                stale.add_metric([asset, league], 1.0 if verdict.stale else 0.0)
        yield from (age, stale, window)

    def _live(self) -> Iterator[Any]:
        """The live-monitoring figures of the Dagster ``live_monitoring`` asset, one gauge family
        per metric (``soccer_live_rps``, ``soccer_live_feature_psi``, ...), read from the warehouse
        table it writes; absent until the asset has run."""
        engine = self.engine_fn()
        if engine is None:
            return
        try:
            rows = plog.read_live_monitoring(engine)
        except Exception as exc:  # an old warehouse without the table, or the database is down
            logger.warning("metrics: live monitoring figures unreadable: %s", exc)
            return
        by_metric: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_metric.setdefault(str(r["metric"]), []).append(r)
        computed = None
        for metric, items in sorted(by_metric.items()):
            keys = sorted({k for r in items for k in r["labels"]})
            fam = GaugeMetricFamily(f"soccer_live_{metric}",
                                    f"Live monitoring: {metric.replace('_', ' ')} (asset live_monitoring).",
                                    labels=keys)
            for r in items:
                fam.add_metric([str(r["labels"].get(k, "")) for k in keys], float(r["value"]))
                computed = r["computed_at"]
            yield fam
        if computed is not None:
            if isinstance(computed, str):
                computed = dt.datetime.fromisoformat(computed)
            if computed.tzinfo is None:
                computed = computed.replace(tzinfo=dt.UTC)
            ts = GaugeMetricFamily("soccer_live_computed_timestamp_seconds",
                                   "When the live-monitoring figures were computed (UNIX time).")
            ts.add_metric([], computed.timestamp())
            yield ts

    def _log_writer(self) -> Iterator[Any]:
        writer = self.log_writer_fn() if self.log_writer_fn else None
        if writer is None:
            return
        pending = GaugeMetricFamily("soccer_prediction_log_pending",
                                    "Prediction log rows queued, not yet written (background mode).")
        pending.add_metric([], float(writer.pending()))
        failures = CounterMetricFamily("soccer_prediction_log_flush_failures",
                                       "Failed batch writes of the prediction log (retried).")
        failures.add_metric([], float(writer.flush_failures))
        yield pending
        yield failures

    def _models(self) -> Iterator[Any]:
        info = GaugeMetricFamily(
            "soccer_model_info", "The loaded model of each variant (value 1).",
            labels=["variant", "name", "version"],
        )
        version = GaugeMetricFamily(
            "soccer_model_version", "Loaded registry version of each variant (absent if none).",
            labels=["variant", "name"],
        )
        loaded = GaugeMetricFamily(
            "soccer_model_loaded", "1 if a model of the variant is loaded.", labels=["variant"]
        )
        failures = CounterMetricFamily(
            "soccer_model_load_failures", "Failed or refused loads of a new version.", labels=["variant"]
        )
        registry_up = GaugeMetricFamily(
            "soccer_model_registry_up", "1 if the last registry lookup succeeded.", labels=["variant"]
        )
        stale = GaugeMetricFamily(
            "soccer_model_stale",
            "1 if the alias points at a version that is not the one served (load failed or refused).",
            labels=["variant"],
        )
        for variant, st in self.manager.status.items():
            m = self.manager.get(variant)
            loaded.add_metric([variant], 1.0 if m else 0.0)
            if m is not None:
                info.add_metric([variant, m.name, m.version], 1.0)
                with contextlib.suppress(ValueError):
                    version.add_metric([variant, m.name], float(m.version))
            failures.add_metric([variant], float(st.load_failures))
            registry_up.add_metric([variant], 0.0 if st.registry_error else 1.0)
            moved = st.registry_version is not None and (m is None or m.version != st.registry_version)
            stale.add_metric([variant], 1.0 if moved else 0.0)
        yield from (info, version, loaded, failures, registry_up, stale)

    def _warehouse(self) -> Iterator[Any]:
        up = GaugeMetricFamily("soccer_warehouse_up", "1 if the warehouse answered this scrape.")
        engine = self.engine_fn()
        if engine is None:
            up.add_metric([], 0.0)
            yield up
            return
        try:
            counts = jobs_store.job_status_counts(engine)
            durations = jobs_store.job_duration_stats(engine)
            states = plog.team_state_summary(engine)
        except Exception as exc:  # a scrape must not fail because the database is down
            logger.warning("metrics: warehouse query failed: %s", exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        jobs = GaugeMetricFamily("soccer_jobs", "Jobs in the warehouse by status.", labels=["status"])
        for status, n in counts.items():
            jobs.add_metric([status], float(n))
        yield jobs
        dur = SummaryMetricFamily(
            "soccer_job_duration_seconds",
            "Run time (first start to finish) of finished jobs, by final status.",
            labels=["status"],
        )
        for status, (n, total) in durations.items():
            dur.add_metric([status], count_value=float(n), sum_value=float(total))
        yield dur
        age = GaugeMetricFamily(
            "soccer_team_state_age_seconds", "Seconds since a league's team state was written.",
            labels=["league"],
        )
        as_of = GaugeMetricFamily(
            "soccer_team_state_as_of_timestamp_seconds",
            "The league's team-state as_of date (UNIX time of its midnight UTC).",
            labels=["league"],
        )
        now = dt.datetime.now(dt.UTC)
        for row in states:
            updated = row["updated_at"]
            if isinstance(updated, str):
                updated = dt.datetime.fromisoformat(updated)
            if updated.tzinfo is None:
                updated = updated.replace(tzinfo=dt.UTC)
            age.add_metric([row["league"]], max(0.0, (now - updated).total_seconds()))
            d = row["as_of"]
            if isinstance(d, str):
                d = dt.date.fromisoformat(d[:10])
            midnight = dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
            as_of.add_metric([row["league"]], midnight.timestamp())
        yield age
        yield as_of


class WorkerMetrics:
    """The worker's own metrics (served on ``SOCCER_WORKER_METRICS_PORT`` when set)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.jobs = Counter(
            "soccer_worker_jobs_total", "Job attempts by outcome (succeeded, failed, retry).",
            ["outcome"], registry=self.registry,
        )
        self.duration = Histogram(
            "soccer_worker_job_attempt_seconds", "Duration of one job attempt, by outcome.",
            ["outcome"], buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
            registry=self.registry,
        )
        self.items = Counter(
            "soccer_worker_items_total", "Job items written, by result (ok, error).",
            ["result"], registry=self.registry,
        )
