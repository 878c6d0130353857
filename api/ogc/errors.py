"""OGC API exceptions: a JSON body with a code and a description naming the parameter at fault."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class OGCError(Exception):
    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def bad_request(parameter: str, description: str) -> OGCError:
    return OGCError(400, "InvalidParameterValue", f"{parameter}: {description}")


def not_found(description: str) -> OGCError:
    return OGCError(404, "NotFound", description)


def _body(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status)


def install(app: FastAPI) -> None:
    """Every error leaves as an OGC exception document, never as a stack trace."""

    @app.exception_handler(OGCError)
    async def ogc_error(_request: Request, exc: OGCError) -> JSONResponse:
        return _body(exc.status, exc.code, exc.description)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
            parts.append(f"{where}: {error.get('msg')}")
        return _body(400, "InvalidParameterValue", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "NotFound" if exc.status_code == 404 else "HTTPError"
        return _body(exc.status_code, code, str(exc.detail))
