"""Landing, liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from geo.db import migrate
from geo.db.cluster import ClusterError
from geo.db.engine import StoreError

router = APIRouter()


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the store is reachable, has PostGIS and the newest schema")
def ready(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        engine = request.app.state.store.engine()
        with engine.connect() as conn:
            checks["postgis"] = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        checks["schema"] = migrate.current_revision(engine)
        checks["schema_current"] = checks["schema"] == migrate.head_revision()
    except (StoreError, ClusterError) as exc:
        return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
    status = 200 if checks["schema_current"] else 503
    return JSONResponse({"status": "ready" if status == 200 else "migrations pending", **checks}, status_code=status)
