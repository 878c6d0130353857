"""Map pages: the index and each map, rendered by the builders in ``maps/``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from api.deps import get_engine
from api.http import cached
from api.ogc.errors import bad_request, not_found
from maps import coverage

router = APIRouter()

INDEX = """<!doctype html><html lang="it"><head><meta charset="utf-8"><title>areavasta – mappe</title>
<style>body{font:15px sans-serif;margin:2em;max-width:46em}li{margin:.4em 0}</style></head><body>
<h1>areavasta – mappe e download</h1>
<p>Banda ultralarga, scuole e strade delle province di Bergamo, Brescia, Cremona e Mantova.</p>
<h2>Mappe</h2><ul>
<li><a href="/maps/coverage">Copertura FTTH per comune</a> (con la variazione tra le date)</li>
</ul>
<h2>Download</h2><ul>
<li>Priorità di intervento: <a href="/downloads/priorities.xlsx">XLSX</a>, <a href="/downloads/priorities.csv">CSV</a>,
<a href="/downloads/priorities.gpkg">GeoPackage</a>, <a href="/downloads/priorities.geojson">GeoJSON</a></li>
<li>Copertura per comune: <a href="/collections/coverage/items?f=xlsx">XLSX</a>,
<a href="/collections/coverage/items?f=csv">CSV</a>, <a href="/collections/coverage/items?f=gpkg">GeoPackage</a></li>
<li><a href="/collections">Tutte le collezioni (OGC API - Features)</a> ·
<a href="/catalog">Catalogo DCAT-AP_IT</a></li>
</ul></body></html>"""


@router.get("/maps/", response_class=HTMLResponse, summary="Index of the maps and downloads")
def index() -> HTMLResponse:
    return HTMLResponse(INDEX)


@router.get("/maps/coverage", response_class=HTMLResponse, summary="FTTH coverage by municipality")
def coverage_map(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    date: Annotated[str | None, Query(description="AGCOM reference date YYYY-MM-DD (latest by default)")] = None,
) -> Response:
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError as exc:
        raise bad_request("date", f"{date!r} is not a date YYYY-MM-DD") from exc
    try:
        html = coverage.build(engine, day, request.app.state.store.settings.map_tile_url)
    except coverage.MapError as exc:
        raise not_found(str(exc)) from exc
    return cached(request, html, "text/html; charset=utf-8")
