"""OGC API - Features endpoints: landing, conformance, collections, items, a feature, queryables (Parts 1–3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection, Engine

from api import downloads, jsonio
from api.deps import get_engine
from api.http import Encoded, base_url, cached
from api.ogc import cql, features, html
from api.ogc import crs as ogc_crs
from api.ogc.collections import COLLECTIONS, Collection, reference_date
from api.ogc.errors import not_found
from geo.crs import crs_info

router = APIRouter()

GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    *cql.CONFORMANCE,
]
ITEM_PARAMETERS = {
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "run",
    "version",
    "f",
    "datetime",
}


Format = Annotated[Literal["json", "html"] | None, Query(description="json, or html for a browser page")]


def _document(request: Request, body: Any, f: str | None, page: Callable[[], Encoded]) -> Response:
    """The JSON document, or its HTML page for a browser."""
    if html.wants_html(request, f):
        return page().response(request)
    return Encoded.json(body).response(request)


@router.get("/", summary="Landing page", response_class=Response)
def landing(request: Request, f: Format = None) -> Response:
    """The landing page, in JSON or HTML."""
    body = _landing(request)
    return _document(request, body, f, lambda: html.landing(request, body))


def _landing(request: Request) -> dict[str, Any]:
    base = base_url(request)
    return {
        "title": "areavasta",
        "description": "Broadband coverage, schools and roads of the provinces of Bergamo, Brescia, Cremona and "
        "Mantova as OGC API - Features.",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": JSON, "title": "this document"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "OpenAPI definition",
            },
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON, "title": "conformance classes"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "collections"},
        ],
    }


@router.get("/conformance", summary="Conformance classes implemented", response_class=Response)
def conformance(request: Request, f: Format = None) -> Response:
    """The conformance classes the service implements, in JSON or HTML."""
    return _document(request, {"conformsTo": CONFORMANCE}, f, lambda: html.conformance(request, CONFORMANCE))


def _describe(request: Request, conn: Connection, collection: Collection) -> dict[str, Any]:
    base = f"{base_url(request)}/collections/{collection.id}"
    extent = features.extent(conn, collection)
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": ogc_crs.supported_uris(),
        "storageCrs": crs_info(32632).uri,
        "extent": {"spatial": {"bbox": [extent] if extent else [], "crs": ogc_crs.CRS84_URI}},
        "source": collection.source,
        "publisher": collection.publisher,
        "license": collection.licence,
        "referenceDate": reference_date(conn, collection),
        **({"synthetic": collection.synthetic_note} if collection.synthetic_note else {}),
        "links": [
            {"href": base, "rel": "self", "type": JSON, "title": collection.title},
            {"href": f"{base}/items", "rel": "items", "type": GEOJSON, "title": "items"},
            {
                "href": f"{base}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": SCHEMA_JSON,
                "title": "queryables",
            },
            {"href": f"{base}/schema", "rel": "describedby", "type": SCHEMA_JSON, "title": "schema"},
        ],
    }


# Extents are aggregates over whole tables: built once per data version, then served from the cache.
@router.get("/collections", summary="The collections", response_class=Response)
def collections(request: Request, engine: Annotated[Engine, Depends(get_engine)], f: Format = None) -> Response:
    """Every collection with its extent, reference date and links, in JSON or HTML."""
    base = base_url(request)
    as_html = html.wants_html(request, f)

    def build(conn: Connection) -> Encoded:
        described = [_describe(request, conn, c) for c in COLLECTIONS.values()]
        if as_html:
            return html.collections(request, described, COLLECTIONS)
        return Encoded.json(
            {
                "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
                "crs": ogc_crs.supported_uris(),
                "collections": described,
            }
        )

    return cached(request, engine, build, "html" if as_html else "")


@router.get("/collections/{collection_id}", summary="One collection", response_class=Response)
def collection(
    request: Request,
    collection_id: features.CollectionId,
    engine: Annotated[Engine, Depends(get_engine)],
    f: Format = None,
) -> Response:
    """One collection with its extent, reference date and links, in JSON or HTML; 404 for an unknown id."""
    described = features.collection_or_404(collection_id)
    as_html = html.wants_html(request, f)

    def build(conn: Connection) -> Encoded:
        document = _describe(request, conn, described)
        return html.collection(request, document, described) if as_html else Encoded.json(document)

    return cached(request, engine, build, "html" if as_html else "")


def _json_schema(request: Request, item: Collection, resource: str) -> dict[str, Any]:
    """The collection's properties as JSON Schema: its queryables, and its schema (Part 5) for clients such as
    GDAL that size their fields from it (int64 where ids exceed 2^31, dates as ``format: date``)."""
    properties: dict[str, Any] = {name: {"title": name, **item.schema(name)} for name in item.properties}
    properties["geometry"] = {"format": "geometry-any", "title": "geometry", "x-ogc-role": "primary-geometry"}
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url(request)}/collections/{item.id}/{resource}",
        "type": "object",
        "title": item.title,
        "properties": properties,
        "additionalProperties": resource == "schema",
    }
    return body


@router.get(
    "/collections/{collection_id}/queryables", summary="Properties that filters may use", response_class=Response
)
def queryables(request: Request, collection_id: features.CollectionId, f: Format = None) -> Response:
    """The properties a filter may name and their types, as JSON Schema or HTML."""
    item = features.collection_or_404(collection_id)
    body = _json_schema(request, item, "queryables")
    if html.wants_html(request, f):
        return html.queryables(request, body, item).response(request)
    return Encoded.json(body, SCHEMA_JSON).response(request)


@router.get("/collections/{collection_id}/schema", summary="Properties of the features and their types")
def schema(request: Request, collection_id: features.CollectionId) -> JSONResponse:
    """The properties of the features and their types, as JSON Schema."""
    return JSONResponse(
        _json_schema(request, features.collection_or_404(collection_id), "schema"), media_type=SCHEMA_JSON
    )


@router.get("/collections/{collection_id}/items", summary="Features of a collection", response_class=Response)
def items(
    request: Request,
    collection_id: features.CollectionId,
    engine: Annotated[Engine, Depends(get_engine)],
    limit: Annotated[int | None, Query(ge=1, description="Page size (default and maximum from the settings)")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: Annotated[str | None, Query(description="Output CRS URI")] = None,
    filter: Annotated[str | None, Query(description="CQL2 filter")] = None,
    filter_lang: Annotated[Literal["cql2-text", "cql2-json"], Query(alias="filter-lang")] = "cql2-text",
    filter_crs: Annotated[str | None, Query(alias="filter-crs")] = None,
    sortby: Annotated[str | None, Query(description="e.g. -population,comune")] = None,
    run: Annotated[int | None, Query(ge=1, description="Analysis run (results collections; latest by default)")] = None,
    version: Annotated[
        int | None,
        Query(ge=0, description="Data version the paging started from (next links carry it): 409 once it changed"),
    ] = None,
    f: Annotated[
        Literal["json", "geojson", "html", "csv", "xlsx", "gpkg"], Query(description="Output format")
    ] = "geojson",
) -> Response:
    """A page of features as GeoJSON or HTML, or every matching feature as a CSV, XLSX or GeoPackage file; filtered by
    bbox, CQL2 and property values, sorted by sortby."""
    item = features.collection_or_404(collection_id)
    settings = request.app.state.store.settings
    is_file = f in downloads.FORMATS  # a file holds every matching feature unless a limit is given
    if limit is not None:
        limit = min(limit, settings.items_max_limit)  # Part 1: a larger limit is served as the maximum
    extra = features.property_filters(request.query_params.multi_items(), item, ITEM_PARAMETERS)
    as_html = html.wants_html(request, request.query_params.get("f"))  # f=html, or a browser with no f
    output_crs = ogc_crs.parse(None if as_html else crs, "crs")  # the page's map reads CRS84
    query = features.ItemQuery(
        bbox=features.parse_bbox(bbox),
        bbox_crs=ogc_crs.parse(bbox_crs, "bbox-crs"),
        crs=output_crs,
        filter=filter,
        filter_lang=filter_lang,
        filter_crs=ogc_crs.parse(filter_crs, "filter-crs"),
        sortby=features.parse_sortby(sortby, item),
        properties=extra,
        limit=limit,
        offset=offset,
        run_id=run,
    )
    if is_file:
        return downloads.download(request.app.state.store, engine, item, query, f)
    page = query.limit = limit or settings.items_default_limit

    def build(conn: Connection) -> Encoded:
        pinned = features.pin(conn, item, query, version)  # before the page: a load between them is a 409 later
        rows, matched = features.fetch_items(conn, item, query)
        body = features.page_body(request.url, rows, matched, offset, page, pinned)
        if as_html:
            return html.items(request, item, jsonio.loads(body))
        return Encoded.of(body, GEOJSON, {"Content-Crs": f"<{output_crs.uri}>"})

    return cached(request, engine, build, "html" if as_html else "")


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature", response_class=Response)
def item(
    request: Request,
    collection_id: features.CollectionId,
    feature_id: str,
    engine: Annotated[Engine, Depends(get_engine)],
    crs: Annotated[str | None, Query()] = None,
    run: Annotated[int | None, Query(ge=1)] = None,
    f: Format = None,
) -> Response:
    """One feature as GeoJSON or HTML; 404 when the collection holds no such feature."""
    target = features.collection_or_404(collection_id)
    as_html = html.wants_html(request, f)
    output_crs = ogc_crs.parse(None if as_html else crs, "crs")
    base = f"{base_url(request)}/collections/{collection_id}"

    def build(conn: Connection) -> Encoded:
        found = features.fetch_item(conn, target, feature_id, output_crs, run)
        if found is None:
            raise not_found(f"no feature {feature_id!r} in {collection_id}")
        if as_html:
            return html.feature(request, target, jsonio.loads(found))
        body = features.feature_body(found, str(request.url), base)
        return Encoded.of(body, GEOJSON, {"Content-Crs": f"<{output_crs.uri}>"})

    return cached(request, engine, build, "html" if as_html else "")
