"""The API description (``/api``, OpenAPI 3.0) and its interactive documentation (Swagger UI), with scripts and
styles served by the app, not a CDN."""

from __future__ import annotations

import json
from pathlib import Path

import swagger_ui
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from api import openapi

SWAGGER_DIR = Path(swagger_ui.__file__).parent / "static"
SWAGGER_URL = "/static/swagger-ui"

router = APIRouter()


@router.get("/api", include_in_schema=False)
def api(request: Request) -> Response:
    """The OpenAPI 3.0 description of the service (built on the first request)."""
    app = request.app
    if app.openapi_schema is None:  # built once per process: the routes and settings do not change
        app.openapi_schema = openapi.build(app, app.state.store.settings)
    body = json.dumps(app.openapi_schema, ensure_ascii=False).encode()
    return Response(body, media_type=openapi.MEDIA_TYPE)


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """Swagger UI reading ``/api``."""
    return get_swagger_ui_html(
        openapi_url="/api",
        title="areavasta – API",
        swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
    )
