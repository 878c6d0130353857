"""OGC API - Tiles endpoints: the tile matrix sets, each collection's vector tilesets (with TileJSON) and its
tiles, filtered like its items and cached per data version like every other answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine

from api.deps import get_engine
from api.http import Encoded, base_url, cached
from api.ogc import crs as ogc_crs
from api.ogc import features, tiles

router = APIRouter()

TILE_PARAMETERS = {"filter", "filter-lang", "filter-crs", "run", "f"}
TmsId = Annotated[str, Path(description="Tile matrix set, e.g. WebMercatorQuad", pattern=r"^[A-Za-z0-9_-]+$")]
Coordinate = Annotated[int, Path(ge=0, le=2**30)]


@router.get("/tileMatrixSets", summary="Tile matrix sets (grids) of the tiles", response_class=Response)
def tile_matrix_sets(request: Request) -> Response:
    """The tile matrix sets the tiles are served in."""
    return Encoded.json(tiles.tile_matrix_sets_document(base_url(request))).response(request)


@router.get("/tileMatrixSets/{tms_id}", summary="One tile matrix set", response_class=Response)
def tile_matrix_set(request: Request, tms_id: TmsId) -> Response:
    """The definition of one tile matrix set (OGC 2D TMS)."""
    tms = tiles.tile_matrix_set(tms_id)
    return Encoded.json(tms.model_dump(exclude_none=True, mode="json")).response(request)


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection", response_class=Response)
def tilesets(request: Request, collection_id: features.CollectionId) -> Response:
    """The vector tilesets of a collection, one per tile matrix set."""
    collection = features.collection_or_404(collection_id)
    base = base_url(request)
    body = {
        "links": [{"href": f"{base}/collections/{collection.id}/tiles", "rel": "self", "type": "application/json"}],
        "tilesets": [
            {
                key: value
                for key, value in tiles.tileset_document(base, collection, tiles.tile_matrix_set(t)).items()
                if key in ("title", "dataType", "crs", "tileMatrixSetURI", "links")
            }
            for t in tiles.TILE_MATRIX_SETS
        ],
    }
    return Encoded.json(body).response(request)


@router.get("/collections/{collection_id}/tiles/{tms_id}", summary="Tileset metadata", response_class=Response)
def tileset(request: Request, collection_id: features.CollectionId, tms_id: TmsId) -> Response:
    """The metadata of a collection's tileset."""
    collection, tms = features.collection_or_404(collection_id), tiles.tile_matrix_set(tms_id)
    return Encoded.json(tiles.tileset_document(base_url(request), collection, tms)).response(request)


@router.get(
    "/collections/{collection_id}/tiles/{tms_id}/tilejson.json",
    summary="TileJSON of the tileset",
    response_class=Response,
)
def tilejson(
    request: Request,
    collection_id: features.CollectionId,
    tms_id: TmsId,
    engine: Annotated[Engine, Depends(get_engine)],
) -> Response:
    """The tileset as TileJSON, with the collection's extent."""
    collection, tms = features.collection_or_404(collection_id), tiles.tile_matrix_set(tms_id)

    def build(conn: Connection) -> Encoded:
        return Encoded.json(
            tiles.tilejson_document(base_url(request), collection, tms, features.extent(conn, collection))
        )

    return cached(request, engine, build)


@router.get(
    "/collections/{collection_id}/tiles/{tms_id}/{z}/{x}/{y}",
    summary="One vector tile (z/x/y), filtered like the items",
    response_class=Response,
    responses={
        200: {
            "description": "Mapbox Vector Tile",
            "content": {tiles.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        204: {"description": "No feature in this tile"},
    },
)
def tile(
    request: Request,
    collection_id: features.CollectionId,
    tms_id: TmsId,
    z: Coordinate,
    x: Coordinate,
    y: Coordinate,
    engine: Annotated[Engine, Depends(get_engine)],
    filter: Annotated[str | None, Query(description="CQL2 filter")] = None,
    filter_lang: Annotated[Literal["cql2-text", "cql2-json"], Query(alias="filter-lang")] = "cql2-text",
    filter_crs: Annotated[str | None, Query(alias="filter-crs")] = None,
    run: Annotated[int | None, Query(ge=1, description="Analysis run (results collections; latest by default)")] = None,
    f: Annotated[Literal["mvt"], Query(description="Tile format")] = "mvt",
) -> Response:
    """The tile as Mapbox Vector Tile, one layer named after the collection; 204 when no feature touches it."""
    collection = features.collection_or_404(collection_id)
    where = tiles.address(tms_id, z, x, y)
    crs84 = ogc_crs.parse(None, "crs")
    query = features.ItemQuery(
        bbox=None,
        bbox_crs=crs84,
        crs=crs84,
        filter=filter,
        filter_lang=filter_lang,
        filter_crs=ogc_crs.parse(filter_crs, "filter-crs"),
        sortby=[],
        properties=features.property_filters(request.query_params.multi_items(), collection, TILE_PARAMETERS),
        limit=None,
        offset=0,
        run_id=run,
    )

    def build(conn: Connection) -> Encoded:
        body = tiles.tile_bytes(conn, collection, query, where)
        return Encoded.of(body, tiles.MEDIA_TYPE, status=200 if body else 204)

    return cached(request, engine, build)
