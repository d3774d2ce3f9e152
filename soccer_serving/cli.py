"""Entry points for ``soccer serve`` and ``soccer worker`` (settings from ``SOCCER_*`` env vars).

``serve(argv)`` runs the API under uvicorn; ``worker(argv)`` runs the Dramatiq job worker in this
process with a bounded number of threads (start several workers for more processes).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from soccer_serving.settings import ServingSettings

logger = logging.getLogger("soccer_serving.worker")


def serve(argv: Sequence[str] | None = None) -> int:
    """Run the API: ``soccer serve [--host H] [--port P] [--workers N] [--log-level L]``."""
    settings = ServingSettings()
    p = argparse.ArgumentParser(prog="soccer serve", description="Run the prediction API (uvicorn).")
    p.add_argument("--host", default=settings.host, help="default $SOCCER_HOST or 127.0.0.1")
    p.add_argument("--port", type=int, default=settings.port, help="default $SOCCER_PORT or 8000")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--log-level", default="info")
    p.add_argument("--access-log", action="store_true", help="log every request")
    args = p.parse_args(list(argv) if argv is not None else None)

    import uvicorn

    uvicorn.run(
        "soccer_serving.main:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=10,
    )
    return 0


def worker(argv: Sequence[str] | None = None) -> int:
    """Run the job worker: ``soccer worker [--threads N] [--metrics-port P]``."""
    settings = ServingSettings()
    p = argparse.ArgumentParser(prog="soccer worker", description="Run the prediction-job worker.")
    p.add_argument("--threads", type=int, default=settings.worker_threads,
                   help="worker threads, 1-64 (default $SOCCER_WORKER_THREADS or 2)")
    p.add_argument("--metrics-port", type=int, default=settings.worker_metrics_port,
                   help="serve Prometheus metrics on this port (default $SOCCER_WORKER_METRICS_PORT)")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(list(argv) if argv is not None else None)
    if not 1 <= args.threads <= 64:
        p.error("--threads must be between 1 and 64")
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from dramatiq import Worker

    from soccer_assets.storage.warehouse import Warehouse
    from soccer_serving.jobs import JobRunner, declare_job_actor, make_actor_fn, make_broker
    from soccer_serving.jobs.actors import reap_forever
    from soccer_serving.jobs.store import create_serving_schema
    from soccer_serving.registry import preload_mlflow

    warehouse = Warehouse(settings.warehouse_url, create_schema=False)
    create_serving_schema(warehouse.engine)
    runner = JobRunner(settings, warehouse)
    broker = make_broker(settings)
    actor = declare_job_actor(broker, settings, make_actor_fn(runner, settings))
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr=settings.host, registry=runner.metrics.registry)

    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    # Ready before taking work: the heavy imports happen here, not in racing worker threads.
    preload_mlflow()
    threading.Thread(target=runner.registry.warm, name="mlflow-warm-up", daemon=True).start()
    w = Worker(broker, worker_threads=args.threads, worker_timeout=500)
    w.start()
    threading.Thread(target=reap_forever, args=(runner, actor, settings, stop), name="job-reaper",
                     daemon=True).start()
    logger.info("worker started: queue %r (namespace %r), %d threads",
                settings.job_queue, settings.broker_namespace, args.threads)
    try:
        stop.wait()
    finally:
        # Unfinished messages stay unacknowledged and are redelivered (results are idempotent).
        w.stop(timeout=10_000)
        broker.close()
        warehouse.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover - python -m soccer_serving.cli worker|serve
    import sys

    cmd, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("serve", [])
    raise SystemExit(worker(rest) if cmd == "worker" else serve(rest))
