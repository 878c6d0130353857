"""Map pages: the index and each map, rendered by the builders in ``maps/``."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from api.deps import get_engine
from api.http import Encoded, cached
from api.ogc.errors import bad_request
from maps import landing
from maps.levels import LEVELS
from maps.page import Basemap, MapError, content_security_policy

# The map builders (maps.coverage, maps.schools_priorities: folium and pandas, about 1 s) are imported by the first
# map request, not when the service starts: a service may answer only features, tiles and files.

router = APIRouter()
PROVINCE_CODE = re.compile(r"\d{3}")


@router.get("/maps/", response_class=HTMLResponse, summary="The planners' page: maps, loaded data, downloads")
def index(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Response:
    """The planners' HTML page: the maps, what data is loaded and the downloads."""
    settings = request.app.state.store.settings

    def render(_conn: object) -> Encoded:
        return Encoded.of(landing.page(engine, settings), "text/html; charset=utf-8")

    return cached(request, engine, render)


@router.get("/maps/coverage", response_class=HTMLResponse, summary="FTTH coverage by municipality")
async def coverage_map(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    date: Annotated[str | None, Query(description="AGCOM reference date YYYY-MM-DD (latest by default)")] = None,
    province: Annotated[str | None, PROVINCES_QUERY] = None,
) -> Response:
    """FTTH coverage by municipality at an AGCOM reference date (the latest by default), for some provinces or all."""
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError as exc:
        raise bad_request("date", f"«{date}» non è una data AAAA-MM-GG") from exc
    from maps import coverage

    provinces = _provinces(province)
    basemap = _basemap(request)
    return await _page(request, engine, lambda: coverage.build(engine, day, basemap, provinces), ("date", "province"))


PROVINCES_QUERY = Query(description="ISTAT province codes, comma-separated (all loaded by default)")


def _provinces(province: str | None) -> tuple[str, ...] | None:
    """The province codes of a map's ``province`` parameter (None: all loaded)."""
    provinces = tuple(code.strip() for code in province.split(",")) if province else None
    if provinces is not None and not all(PROVINCE_CODE.fullmatch(code) for code in provinces):
        raise bad_request("province", f"«{province}» non è un elenco di codici ISTAT di provincia (3 cifre, es. 016)")
    return provinces


def _basemap(request: Request) -> Basemap | None:
    settings = request.app.state.store.settings
    return Basemap(settings.basemap_url, settings.basemap_attribution) if settings.basemap_url else None


async def _page(request: Request, engine: Engine, build: Callable[[], str], accepted: tuple[str, ...] = ()) -> Response:
    """A map page, rendered once per data version (builders read through their own connections), with a
    Content-Security-Policy that lets only its own scripts run. A parameter the page does not take is refused:
    ignoring it would mislead the reader (and let any junk parameter make the service render a new page).

    Pages are built on the store's few map workers: a burst of first views waits for them without holding the
    request threads (or connections) every other request needs."""
    unknown = sorted(set(request.query_params) - set(accepted))
    if unknown:
        takes = f"questa mappa accetta {', '.join(accepted)}" if accepted else "questa mappa non accetta parametri"
        raise bad_request(unknown[0], f"parametro sconosciuto; {takes}")
    tile_url = request.app.state.store.settings.basemap_url

    def render(_conn: object) -> Encoded:
        try:
            page = build()
        except MapError as exc:
            # a page for the planner: why, what is missing and the commands that add it
            return Encoded.of(landing.unavailable(engine, str(exc)), "text/html; charset=utf-8", status=404)
        policy = content_security_policy(page, tile_url)
        return Encoded.of(page, "text/html; charset=utf-8", {"Content-Security-Policy": policy})

    builds = request.app.state.store.map_builds
    return await asyncio.wrap_future(builds.submit(cached, request, engine, render))


@router.get("/maps/schools", response_class=HTMLResponse, summary="Schools by connectivity status")
async def schools(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    province: Annotated[str | None, PROVINCES_QUERY] = None,
    level: Annotated[str | None, Query(description=f"School level: {', '.join(LEVELS)} (all by default)")] = None,
) -> Response:
    """Schools by connectivity status, for some provinces or all, of one school level or all."""
    from maps import schools_priorities

    provinces = _provinces(province)
    if level is not None and level not in LEVELS:
        levels = ", ".join(LEVELS)
        raise bad_request("level", f"«{level}» non è un livello scolastico; valori: {levels}")
    basemap = _basemap(request)
    return await _page(
        request,
        engine,
        lambda: schools_priorities.schools_map(engine, provinces, level, basemap),
        ("province", "level"),
    )


@router.get("/maps/priorities", response_class=HTMLResponse, summary="Ranked targets and routes of a run")
async def priorities(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    top: Annotated[int, Query(ge=1, le=5000, description="How many ranked targets")] = 100,
    run: Annotated[int | None, Query(ge=1, description="Priorities run (latest by default)")] = None,
) -> Response:
    """The ``top`` ranked targets of a priorities run (the latest by default) with their routes."""
    from maps import schools_priorities

    basemap = _basemap(request)
    return await _page(
        request, engine, lambda: schools_priorities.priorities_map(engine, run, top, basemap=basemap), ("top", "run")
    )


@router.get("/maps/municipality/{code}", response_class=HTMLResponse, summary="One municipality with its layers")
async def municipality(
    request: Request,
    code: Annotated[str, Path(pattern=r"^\d{6}$", description="ISTAT code, e.g. 016024")],
    engine: Annotated[Engine, Depends(get_engine)],
) -> Response:
    """One municipality (ISTAT code): its boundary and figures, its schools, and its priority targets and routes."""
    from maps import schools_priorities

    basemap = _basemap(request)
    return await _page(request, engine, lambda: schools_priorities.municipality_map(engine, code, basemap))
