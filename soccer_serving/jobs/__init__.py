"""Asynchronous prediction jobs: Dramatiq over Redis, state and results in the warehouse.

* :mod:`~soccer_serving.jobs.store`: the ``prediction_jobs`` / ``prediction_job_results`` tables
  and every read and write of them (and ``create_serving_schema``, all tables serving needs);
* :mod:`~soccer_serving.jobs.broker`: Redis client, broker, the actor's declaration (API side);
* :mod:`~soccer_serving.jobs.actors`: the worker side, :class:`JobRunner` and the actor body.

The names below are re-exported so that ``from soccer_serving.jobs import api_actor, make_broker``
(docs/runbooks/stuck-jobs.md) keeps working.
"""

from __future__ import annotations

import importlib
from typing import Any

# Re-exported lazily (PEP 562): importing ``soccer_serving.jobs.store`` alone (the metrics collector
# does) must not pull in the worker side, which imports the metrics module back.
_EXPORTS = {
    "ACTOR_NAME": "broker",
    "BROKER_ERRORS": "broker",
    "api_actor": "broker",
    "declare_job_actor": "broker",
    "make_broker": "broker",
    "make_redis_client": "broker",
    "WORKER_ID": "actors",
    "JobNotFound": "actors",
    "JobRunner": "actors",
    "make_actor_fn": "actors",
    "query_from_item": "actors",
    "result_row": "actors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
