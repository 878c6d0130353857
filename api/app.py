"""Application factory: the one place where routers are mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import catalog, docs, health, jobs, maps
from api.auth import read_access
from api.deps import StoreState, single_values
from api.hits import CachedHits
from api.http import GZIP_FROM_BYTES
from api.ogc import errors as ogc_errors
from api.ogc import html, tile_routes
from api.ogc import routes as ogc_routes
from api.protocol import NegotiatedGZip, Protocol
from geo import __version__
from geo.settings import Settings, get_settings
from maps.static import (
    CLUSTER_DIR,
    CLUSTER_URL,
    JQUERY_DIR,
    JQUERY_URL,
    LEAFLET_DIR,
    LEAFLET_URL,
    MAPS_DIR,
    MAPS_URL,
    VECTORGRID_DIR,
    VECTORGRID_URL,
)

CORS_REQUEST_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match", "X-API-Key")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (the process settings by default); the store opens on first use."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(app.state.store.open)
        yield
        app.state.store.dispose()

    app = FastAPI(
        title="areavasta",
        version=__version__,
        description="Broadband coverage, school buildings and roads of the provinces of Bergamo, Brescia, "
        "Cremona and Mantova, as open geodata.",
        lifespan=lifespan,
        dependencies=[Depends(single_values)],
        openapi_url=None,  # /api is served by api.docs (OpenAPI 3.0)
        docs_url=None,  # served by api.docs with local assets
        redoc_url=None,
    )
    app.state.store = StoreState(settings)
    app.add_middleware(NegotiatedGZip, minimum_size=GZIP_FROM_BYTES)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=list(settings.cors_methods),
        allow_headers=list(CORS_REQUEST_HEADERS),
        allow_credentials=False,  # keys travel in X-API-Key, never in cookies a page could borrow
        expose_headers=["ETag", "Content-Crs", "Retry-After", "Location"],
    )
    app.add_middleware(Protocol)  # HEAD and NUL bytes are settled before anything below runs
    # outermost: a stored answer goes out before any other layer runs, with the headers they would have sent
    app.add_middleware(CachedHits, store=app.state.store)
    ogc_errors.install(app)
    reading = [Depends(read_access)]
    app.include_router(ogc_routes.router, tags=["OGC API - Features"], dependencies=reading)
    app.include_router(tile_routes.router, tags=["OGC API - Tiles"], dependencies=reading)
    app.include_router(catalog.router, tags=["open data"], dependencies=reading)
    app.include_router(jobs.router, tags=["jobs"])
    app.include_router(maps.router, tags=["maps"], dependencies=reading)
    app.mount(LEAFLET_URL, StaticFiles(directory=LEAFLET_DIR), name="leaflet")
    app.mount(MAPS_URL, StaticFiles(directory=MAPS_DIR), name="maps")
    app.mount(CLUSTER_URL, StaticFiles(directory=CLUSTER_DIR), name="markercluster")
    app.mount(JQUERY_URL, StaticFiles(directory=JQUERY_DIR), name="jquery")
    # present after `make install` (npm); without it only the national tiled map lacks its script
    app.mount(VECTORGRID_URL, StaticFiles(directory=VECTORGRID_DIR, check_dir=False), name="vectorgrid")
    app.mount(docs.SWAGGER_URL, StaticFiles(directory=docs.SWAGGER_DIR), name="swagger-ui")
    app.mount(html.STATIC_URL, StaticFiles(directory=Path(__file__).parent / "static"), name="areavasta-static")
    app.include_router(docs.router)
    app.include_router(health.router, tags=["operations"])
    return app
