"""``POST /v1/jobs`` and ``GET /v1/jobs/{job_id}``: asynchronous prediction jobs (always keyed).

Submitting stores the job and enqueues it (``ServingState.submit_job``); the worker
(``soccer_serving.jobs.actors``) runs it; polling reads its row and results from the warehouse.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from soccer_serving.deps import SettingsDep, StateDep, require_api_key
from soccer_serving.errors import (
    AUTH_ERRORS,
    COMMON_ERRORS,
    ApiError,
    BrokerUnavailable,
    err,
    unprocessable,
    warehouse_unavailable,
)
from soccer_serving.jobs import store
from soccer_serving.schemas import (
    ErrorBody,
    JobAccepted,
    JobItemResult,
    JobProgress,
    JobRequest,
    JobStatus,
    Probabilities,
)

JOB_ERRORS = {**COMMON_ERRORS, **AUTH_ERRORS, 503: err("Redis (broker) or warehouse unavailable.")}
SUBMIT_ERRORS = {**JOB_ERRORS, **unprocessable("`job_too_large` (more than SOCCER_JOB_MAX_ITEMS matches).")}

router = APIRouter()


@router.post(
    "/v1/jobs",
    tags=["jobs"],
    status_code=202,
    response_model=JobAccepted,
    responses=SUBMIT_ERRORS,
    dependencies=[Depends(require_api_key)],
    summary="Submit a prediction job",
    description="A list of matches (at most SOCCER_JOB_MAX_ITEMS), or "
    '`{"league": "E0", "upcoming": true}` for the league\'s fixtures from fixtures.csv. '
    "Runs in the worker; poll `GET /v1/jobs/{job_id}`.",
)
async def submit_job(body: JobRequest, request: Request, state: StateDep,
                     settings: SettingsDep) -> JSONResponse:
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
    body_out = JobAccepted(job_id=job_id, status=store.JOB_QUEUED, status_url=url)
    return JSONResponse(body_out.model_dump(), status_code=202, headers={"Location": url})


@router.get(
    "/v1/jobs/{job_id}",
    name="get_job",
    tags=["jobs"],
    response_model=JobStatus,
    responses={**JOB_ERRORS, 404: err("No such job.")},
    dependencies=[Depends(require_api_key)],
    summary="Job status, progress and results",
)
async def get_job(
    job_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    state: StateDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> JobStatus:
    def load() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if not state.schema_ready and not state.ensure_schema():
            raise warehouse_unavailable()
        job = store.get_job(state.engine, job_id)
        if job is None:
            return None, []
        return job, store.read_job_results(state.engine, job_id, offset=offset, limit=limit)

    job, rows = await run_in_threadpool(load)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}")
    return job_status(job, rows, offset)


def job_status(job: dict[str, Any], rows: list[dict[str, Any]], offset: int) -> JobStatus:
    """The answer of ``GET /v1/jobs/{job_id}`` from the job row and a page of its results."""
    results = []
    for r in rows:
        # Markets through the constructor: they must be validated into their records.
        item = JobItemResult(index=r["item_index"], ok=r["ok"], league=r["league"],
                             home_team=r["home_team"], away_team=r["away_team"], kickoff=r["kickoff"],
                             team_state_as_of=r["team_state_as_of"], markets=r.get("markets"),
                             offers=r.get("offers"))
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
