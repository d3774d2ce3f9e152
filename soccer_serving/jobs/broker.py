"""The job queue: Redis client, Dramatiq broker and the job actor's declaration.

The API declares the actor only to send (:func:`api_actor`); the worker declares it with the body
of :func:`soccer_serving.jobs.actors.make_actor_fn`. Both use the same name, queue and retry
settings, so a message sent by one is run by the other.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from soccer_serving.settings import ServingSettings

ACTOR_NAME = "soccer_prediction_job"
BROKER_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, dramatiq.errors.ConnectionError, OSError)


def make_redis_client(url: str) -> redis.Redis:
    """A client that fails fast when Redis is down (short timeouts, one quick retry)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=10.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
        health_check_interval=30,
    )


def make_broker(settings: ServingSettings) -> RedisBroker:
    broker = RedisBroker(
        client=make_redis_client(settings.redis_url),
        namespace=settings.broker_namespace,
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
        maintenance_chance=settings.broker_maintenance_chance,
    )
    broker.add_middleware(CurrentMessage())
    return broker


def declare_job_actor(
    broker: RedisBroker, settings: ServingSettings, fn: Callable[[str], None]
) -> dramatiq.Actor:
    """The job actor on ``broker`` (the API declares it only to send; the worker runs ``fn``)."""
    return dramatiq.actor(
        fn,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=settings.job_queue,
        max_retries=settings.job_max_retries,
        min_backoff=settings.job_min_backoff_ms,
        max_backoff=settings.job_max_backoff_ms,
        time_limit=settings.job_time_limit_ms,
    )


def _not_run_here(job_id: str) -> None:  # pragma: no cover - the API only enqueues
    raise RuntimeError("prediction jobs run in the worker (soccer worker)")


def api_actor(broker: RedisBroker, settings: ServingSettings) -> dramatiq.Actor:
    return declare_job_actor(broker, settings, _not_run_here)
