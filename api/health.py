"""Landing, liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.ogc.errors import RETRY_AFTER_S
from geo.db import migrate
from geo.db.cluster import ClusterError
from geo.db.engine import StoreError

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    """Always ``{"status": "ok"}``: the process answers, whatever the state of the store."""
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the store is reachable, has PostGIS and the newest schema")
def ready(request: Request) -> JSONResponse:
    """Status ``ready`` with the PostGIS version and schema revision when the store is reachable and its schema
    current; 503 otherwise, saying why."""
    checks: dict[str, Any] = {}
    try:
        engine = request.app.state.store.engine()
        with engine.connect() as conn:
            checks["postgis"] = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        checks["schema"] = migrate.current_revision(engine)
        checks["schema_current"] = checks["schema"] == migrate.head_revision()
    except (StoreError, ClusterError, DBAPIError, PoolTimeout) as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
        return _unavailable("unavailable", f"the data store is unreachable: {reason}")
    if not checks["schema_current"]:
        return _unavailable("migrations pending", "the data store's schema is not current", checks)
    return JSONResponse({"status": "ready", **checks})


def _unavailable(status: str, reason: str, checks: dict[str, Any] | None = None) -> JSONResponse:
    """A 503 readiness answer, also an exception document (code, description) like every other error."""
    body = {"code": "ServiceUnavailable", "description": reason, "status": status, "reason": reason, **(checks or {})}
    return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_S})
