# syntax=docker/dockerfile:1
# One image for every role, chosen by the command:
#   soccer serve --host 0.0.0.0          prediction API (port 8000; HEALTHCHECK below)
#   soccer worker --metrics-port 9100    Dramatiq job worker (SOCCER_HOST=0.0.0.0 to expose its metrics)
#   dagster code-server start -h 0.0.0.0 -p 4000 -m soccer_assets.definitions   Dagster code location
#   dagster-webserver -h 0.0.0.0 -p 3000 -w /opt/dagster/workspace.yaml        Dagster UI + GraphQL
#   dagster-daemon run -w /opt/dagster/workspace.yaml                          schedules, backfills, run queue
#   mlflow server ...                    MLflow tracking server + registry
#   soccer pipeline | soccer evaluate    batch commands
# Build: docker build -t soccer-predict .

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# ---------------------------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build
# uv at the version the lock file was written with; installs nothing else from outside the lock.
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
# Dependencies first (their layer is reused while only the code changes), exactly as locked.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
# Then the project itself, installed as a wheel (not editable) so the runtime needs no sources tree.
COPY soccer_assets ./soccer_assets
COPY soccer_serving ./soccer_serving
RUN uv sync --frozen --no-dev --no-editable

# -------------------------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime
# libgomp1: XGBoost's OpenMP runtime. The pin follows Debian bookworm; hadolint wants pins.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 soccer \
    && useradd --system --uid 10001 --gid soccer --home-dir /app --shell /usr/sbin/nologin soccer \
    && mkdir -p /data /opt/dagster/home \
    && chown soccer:soccer /data /opt/dagster/home
# Root-owned and read-only for the app user: the running code cannot modify its own environment.
COPY --from=build /app/.venv /app/.venv
# Dagster instance (PostgreSQL via DAGSTER_PG_URL) and a workspace that loads the code in-process;
# Kubernetes and compose mount their own (a gRPC code server) over these.
COPY dagster.yaml /opt/dagster/home/dagster.yaml
COPY workspace.yaml /opt/dagster/workspace.yaml
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    SOCCER_DATA_DIR=/data \
    SOCCER_HOST=0.0.0.0 \
    SOCCER_PORT=8000 \
    MLFLOW_UV_AUTO_DETECT=false
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9100 4000 3000 5000
# The API's liveness route. Other roles override or disable this check (compose does).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthcheck' % os.environ.get('SOCCER_PORT', '8000'), timeout=3)"]
ENTRYPOINT []
CMD ["soccer", "serve", "--host", "0.0.0.0"]
