"""``/catalog``: a DCAT-AP_IT catalogue (JSON-LD) of the published datasets and their downloads, for the
national open-data portal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from api import downloads
from api.deps import get_engine
from api.ogc.collections import COLLECTIONS, reference_date
from api.ogc.errors import not_found
from geo.analysis.costs import SCENARIO_NAME
from geo.analysis.runs import AnalysisError

router = APIRouter()

FILE_TYPES = {  # EU Publications Office file-type authority table
    "geojson": ("GEOJSON", "application/geo+json"),
    "csv": ("CSV", "text/csv"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "gpkg": ("GPKG", "application/geopackage+sqlite3"),
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatapit": "http://dati.gov.it/onto/dcatapit#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
THEME = "http://publications.europa.eu/resource/authority/data-theme/TECH"


def _distribution(base: str, collection_id: str, fmt: str) -> dict[str, Any]:
    code, media = FILE_TYPES[fmt]
    url = f"{base}/collections/{collection_id}/items?f={fmt}"
    return {
        "@id": url,
        "@type": ["dcat:Distribution", "dcatapit:Distribution"],
        "dct:title": f"{collection_id} ({code})",
        "dcat:accessURL": {"@id": f"{base}/collections/{collection_id}"},
        "dcat:downloadURL": {"@id": url},
        "dct:format": {"@id": f"http://publications.europa.eu/resource/authority/file-type/{code}"},
        "dcat:mediaType": media,
    }


@router.get(
    "/downloads/priorities.{fmt}",
    summary="Priority list of a run or scenario (latest by default) as a file, with its note",
    response_class=Response,
    responses={200: {"description": "The file", "content": {media: {} for media in downloads.PRIORITY_MEDIA.values()}}},
)
def priorities_download(
    request: Request,
    engine: Annotated[Engine, Depends(get_engine)],
    fmt: Annotated[str, Path(pattern="^(csv|xlsx|gpkg|geojson)$")],
    run: Annotated[int | None, Query(ge=1, description="Priorities run (the latest by default)")] = None,
    scenario: Annotated[str | None, Query(pattern=SCENARIO_NAME, description="Named scenario: its latest run")] = None,
) -> Response:
    """The officers' priority list as a CSV, XLSX, GeoPackage or GeoJSON file: of the run given, else of the named
    scenario's latest run, else of the latest run. 404 when there is no such run; 503 with Retry-After while every
    export slot is taken."""
    try:
        with request.app.state.store.export_slot():
            return downloads.priorities_file(engine, fmt, run, scenario)
    except AnalysisError as exc:
        raise not_found(str(exc)) from exc


@router.get(
    "/catalog",
    summary="DCAT-AP_IT catalogue of the datasets (JSON-LD)",
    response_class=JSONResponse,
    responses={200: {"description": "The catalogue", "content": {"application/ld+json": {}}}},
)
def catalog(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> JSONResponse:
    """The published collections as a DCAT-AP_IT catalogue in JSON-LD, each with its source, licence, date of last
    change and file distributions."""
    base = str(request.base_url).rstrip("/")
    with engine.connect() as conn:
        modified = {c.id: reference_date(conn, c) for c in COLLECTIONS.values()}
    datasets = []
    for collection in COLLECTIONS.values():
        when = modified[collection.id]
        datasets.append(
            {
                "@id": f"{base}/collections/{collection.id}",
                "@type": ["dcat:Dataset", "dcatapit:Dataset"],
                "dct:identifier": f"areavasta:{collection.id}",
                "dct:title": collection.title,
                "dct:description": collection.description,
                "dct:publisher": {"@type": "foaf:Agent", "foaf:name": collection.publisher},
                "dct:source": collection.source,
                "dct:license": collection.licence,
                "dcat:theme": {"@id": THEME},
                **({"dct:modified": {"@value": when, "@type": "xsd:date"}} if when else {}),
                "dcat:distribution": [_distribution(base, collection.id, fmt) for fmt in FILE_TYPES],
            }
        )
    body = {
        "@context": CONTEXT,
        "@id": f"{base}/catalog",
        "@type": ["dcat:Catalog", "dcatapit:Catalog"],
        "dct:title": "areavasta – open data of the area vasta Bergamo, Brescia, Cremona, Mantova",
        "dct:description": "Broadband coverage, schools and roads published by the provinces' shared GIS service.",
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": "Province di Bergamo, Brescia, Cremona e Mantova"},
        "dcat:dataset": datasets,
    }
    return JSONResponse(body, media_type="application/ld+json")
