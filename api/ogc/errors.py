"""OGC API exceptions: a JSON body with a code and a description naming the parameter at fault."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg import errors as pg_errors
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.ogc import html
from geo.db.cluster import ClusterError
from geo.db.engine import StoreError

RETRY_AFTER_S = "10"
log = logging.getLogger(__name__)


class OGCError(Exception):
    """An error answered as an OGC exception document (code and description) with its status and extra headers."""

    def __init__(self, status: int, code: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.code, self.description, self.headers = status, code, description, headers


def bad_request(parameter: str, description: str) -> OGCError:
    """A 400 InvalidParameterValue naming ``parameter``."""
    return OGCError(400, "InvalidParameterValue", f"{parameter}: {description}")


def not_found(description: str) -> OGCError:
    """A 404 NotFound."""
    return OGCError(404, "NotFound", description)


def conflict(parameter: str, description: str) -> OGCError:
    """A request that no longer fits the data (409): the client must start again."""
    return OGCError(409, "Conflict", f"{parameter}: {description}")


def busy(description: str) -> OGCError:
    """A 503 the client should retry later."""
    return OGCError(503, "ServiceUnavailable", description, {"Retry-After": RETRY_AFTER_S})


def _body(
    status: int, code: str, description: str, headers: dict[str, str] | None = None, request: Request | None = None
) -> Response:
    """The exception document, or its page when a browser asked for HTML."""
    if request is not None and html.wants_html(request, request.query_params.get("f")):
        page = html.error(request, status, code, description)
        return Response(
            page.body, status_code=status, media_type=page.media_type, headers={**page.headers, **(headers or {})}
        )
    return JSONResponse({"code": code, "description": description}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Every error leaves as an OGC exception document, never as a stack trace (an unexpected one is turned into
    its 500 document by ``api.protocol``, which also keeps the connection usable)."""

    @app.exception_handler(OGCError)
    async def ogc_error(request: Request, exc: OGCError) -> Response:
        return _body(exc.status, exc.code, exc.description, exc.headers, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
            parts.append(f"{where}: {error.get('msg')}")
        return _body(400, "InvalidParameterValue", "; ".join(parts), request=request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = "NotFound" if exc.status_code == 404 else "HTTPError"
        return _body(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None), request)

    @app.exception_handler(DataError)
    async def refused_value(request: Request, exc: DataError) -> Response:
        # the database refused a value the client sent (a text compared with a number, an impossible date)
        first = str(exc.orig).splitlines()[0] if exc.orig is not None else "a value of the request was refused"
        return _body(400, "InvalidParameterValue", f"the data store refused a value of the request: {first}")

    @app.exception_handler(DBAPIError)
    async def store_error(request: Request, exc: DBAPIError) -> Response:
        retry = {"Retry-After": RETRY_AFTER_S}
        if isinstance(exc.orig, pg_errors.UndefinedFunction | pg_errors.DatatypeMismatch):
            # a filter that compares a property with a value of another type ("cod_uts = 16")
            return _body(400, "InvalidParameterValue", "a filter compares a property with a value of another type")
        if isinstance(exc.orig, pg_errors.QueryCanceled):
            limit = request.app.state.store.settings.statement_timeout_ms / 1000
            description = f"the query took too long (over {limit:g} s); narrow it (bbox, filter, limit) or retry later"
            return _body(503, "ServiceUnavailable", description, retry, request)
        if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
            log.warning("data store unreachable: %s", _first_line(exc))
            return _body(503, "ServiceUnavailable", "the data store is unreachable; try again shortly", retry, request)
        log.exception("data store error")
        return _body(500, "ServerError", "the data store failed to answer this request")

    @app.exception_handler(StoreError)
    @app.exception_handler(ClusterError)
    async def store_down(request: Request, exc: Exception) -> Response:
        log.warning("data store unavailable: %s", _first_line(exc))
        retry = {"Retry-After": RETRY_AFTER_S}
        return _body(503, "ServiceUnavailable", "the data store is unreachable; try again shortly", retry, request)

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        log.warning("no free store connection: %s", _first_line(exc))
        retry = {"Retry-After": RETRY_AFTER_S}
        return _body(503, "ServiceUnavailable", "the service is busy; retry shortly", retry, request)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig if orig is not None else exc).strip().splitlines() or [type(exc).__name__])[0]
