"""Background jobs: ingest and analysis runs started over HTTP by editors, with their status at /jobs/{id}."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from api.auth import read_access, require
from api.deps import StoreState
from api.ogc.errors import bad_request, not_found
from geo import tasks
from geo.keys import ApiKey
from geo.settings import Settings

router = APIRouter()
log = logging.getLogger(__name__)
RECORD_RETRY_S = 2.0  # between attempts to record a job's end while the store is unreachable
JOB_COLUMNS = "id, kind, status, created_at, started_at, finished_at, result, error"


def _ingest(engine: Engine, settings: Settings) -> dict[str, Any]:
    return {"layers": [tasks.outcome_record(o) for o in tasks.ingest_everything(engine, settings)]}


def _analyze(engine: Engine, _settings: Settings) -> dict[str, Any]:
    run = tasks.analyse_coverage(engine)
    return {"analysis_run": run.id, "timings": run.timings}


def _priorities(engine: Engine, _settings: Settings, scenario: str = "default") -> dict[str, Any]:
    ranking = tasks.rank(engine, tasks.scenario(scenario))
    return {"analysis_run": ranking.run.id, "scenario": scenario, "timings": ranking.run.timings}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {"ingest": _ingest, "analyze": _analyze, "priorities": _priorities}


def _run(store: StoreState, job_id: str, kind: str, parameters: dict[str, Any]) -> None:
    """One job, on the store's job thread: its use case with the service's settings, its end recorded."""
    engine = store.job_engine()
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE meta.job SET status = 'running', started_at = now() WHERE id = :i"), {"i": job_id}
            )
        result = JOBS[kind](engine, store.settings, **parameters)
        status, error = "successful", None
    except Exception as exc:  # a job reports its failure in its status, whatever it was
        result, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
    values = {"s": status, "r": json.dumps(result, default=str) if result else None, "e": error, "i": job_id}
    # a store restarting under the job: its end is recorded once the store is back (or the server stops)
    while True:
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "UPDATE meta.job SET status = :s, finished_at = now(), result = :r, error = :e, "
                        "started_at = coalesce(started_at, now()) WHERE id = :i"
                    ),
                    values,
                )
            break
        except DBAPIError as exc:
            log.warning("job %s: its end (%s) not recorded yet: %s", job_id, status, str(exc.orig).splitlines()[0])
            if store.stopping.wait(RECORD_RETRY_S):
                return
    # jobs run one at a time: a run of this process still 'running' now is one whose end the job could not record
    store.reap_orphans(own=True)


def _status(request: Request, row: Any) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "jobID": row.id,
        "type": row.kind,
        "status": row.status,
        "created": row.created_at.isoformat(),
        "started": row.started_at.isoformat() if row.started_at else None,
        "finished": row.finished_at.isoformat() if row.finished_at else None,
        "result": row.result,
        "message": row.error,
        "links": [{"href": f"{base}/jobs/{row.id}", "rel": "self", "type": "application/json"}],
    }


@router.post(
    "/jobs/{kind}", summary="Start an ingest, analysis or priorities job (needs an editor key)", status_code=201
)
def start_job(
    request: Request,
    kind: str,
    key: Annotated[ApiKey, Depends(require("editor"))],
    scenario: Annotated[str | None, Query(description="priorities: a named scenario")] = None,
) -> JSONResponse:
    """Start a job of ``kind`` (a priorities job may name a scenario); 201 with its status and a Location to poll. Jobs
    run one at a time, in order."""
    if kind not in JOBS:
        raise not_found(f"no job type {kind!r}; available: {', '.join(JOBS)}")
    parameters: dict[str, Any] = {}
    if scenario is not None:
        if kind != "priorities":
            raise bad_request("scenario", "only priorities jobs take a scenario")
        try:
            tasks.scenario(scenario)
        except tasks.UnknownScenario as exc:
            raise bad_request("scenario", str(exc)) from None
        parameters["scenario"] = scenario
    request.app.state.store.engine()  # opens the store (and its checks) as every request does
    engine = request.app.state.store.job_engine()  # the primary, where a read replica serves the rest
    job_id = uuid.uuid4().hex
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "INSERT INTO meta.job (id, kind, parameters, api_key_id) VALUES (:i, :k, :p, :a) "
                f"RETURNING {JOB_COLUMNS}"
            ),
            {"i": job_id, "k": kind, "p": json.dumps(parameters), "a": key.id},
        ).one()
    store = request.app.state.store
    store.executor.submit(_run, store, job_id, kind, parameters)
    return JSONResponse(_status(request, row), status_code=201, headers={"Location": f"/jobs/{job_id}"})


@router.get("/jobs/{job_id}", summary="Status of a job", dependencies=[Depends(read_access)])
def job_status(request: Request, job_id: str) -> dict[str, Any]:
    """The job's status and times, its result and, for a failed job, the error; 404 for an unknown id."""
    request.app.state.store.engine()
    engine = request.app.state.store.job_engine()  # where the job is written: its status is never behind it
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {JOB_COLUMNS} FROM meta.job WHERE id = :i"),
            {"i": job_id},
        ).first()
    if row is None:
        raise not_found(f"no job {job_id!r}")
    return _status(request, row)
