"""Mapbox Vector Tiles of a collection, built by PostGIS (``ST_AsMVTGeom``/``ST_AsMVT``) over the tile grids of
``morecantile``, with the same filters as the items; and the OGC API - Tiles documents that describe them.

Geometries are simplified to a tenth of a pixel of the tile before encoding, so a national layer at zoom 6 ships
what the screen can show, not every vertex of the boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import morecantile
from morecantile import TileMatrixSet
from sqlalchemy import Connection, Date, Float, Select, Text, bindparam, cast, func, literal_column, or_, select
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from api.ogc.collections import COLLECTIONS, Collection
from api.ogc.errors import not_found
from api.ogc.features import Compiled, ItemQuery, compile_select, prepared, where_clauses
from geo.models import WORKING_SRID

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096  # tile coordinates per side
BUFFER = 64  # coordinates beyond the edge kept, so strokes do not break at tile borders
TILE_MATRIX_SETS = ("WebMercatorQuad",)  # the grids served; any morecantile id can be added
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileAddress:
    """A tile of a tile matrix set."""

    tms: TileMatrixSet
    tile: morecantile.Tile

    @property
    def srid(self) -> int:
        """The SRID of the tile matrix set's CRS."""
        return _srid(self.tms.id)


def tile_matrix_set(tms_id: str) -> TileMatrixSet:
    """The tile matrix set ``tms_id``; a 404 when it is not served."""
    if tms_id not in TILE_MATRIX_SETS:
        raise not_found(f"no tile matrix set {tms_id!r}; served: {', '.join(TILE_MATRIX_SETS)}")
    return _grid(tms_id)


@cache
def _grid(tms_id: str) -> TileMatrixSet:
    return morecantile.tms.get(tms_id)  # a deep copy each time it is asked for


@cache
def _srid(tms_id: str) -> int:
    return int(_grid(tms_id).crs.to_epsg() or 3857)


def address(tms_id: str, z: int, x: int, y: int) -> TileAddress:
    """The tile, or a 404 naming why it does not exist (zoom or column/row outside the grid)."""
    tms = tile_matrix_set(tms_id)
    if not 0 <= z <= min(MAX_ZOOM, tms.maxzoom):
        raise not_found(f"zoom {z} is outside 0–{min(MAX_ZOOM, tms.maxzoom)}")
    matrix = tms.matrix(z)
    if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
        raise not_found(f"tile {z}/{x}/{y} is outside the grid ({matrix.matrixWidth} × {matrix.matrixHeight})")
    return TileAddress(tms, morecantile.Tile(x=x, y=y, z=z))


def _properties(collection: Collection) -> list[ColumnElement]:
    """Display properties: dates as ISO text (MVT has no date type); codes are already text."""
    columns: list[ColumnElement] = []
    for name in collection.tile_names:
        column = collection.table.c[name]
        columns.append(cast(column, Text).label(name) if isinstance(column.type, Date) else column)
    return columns


# PostGIS functions are costed so high that the planner compiles a tile's statement to machine code (JIT), which
# takes longer than the statement itself (460 of 850 ms for a national roads tile at zoom 6)
NO_JIT = "SET LOCAL jit = off"
PLACES = ("left", "bottom", "right", "top", "margin", "segment", "tolerance")  # a tile's parameters


def _tile_select(collection: Collection, srid: int, where: list[ColumnElement], newest: bool = True) -> Select:
    """The tile's statement, its place given by the parameters named in PLACES; with ``newest``, only the newest
    ``tile_date`` among the features matched (and those without one)."""
    left, bottom, right, top, margin, segment, tolerance = (bindparam(name, type_=Float) for name in PLACES)
    envelope = func.ST_MakeEnvelope(left, bottom, right, top, bindparam("srid", srid))
    # the tile (with its buffer) in the working CRS, densified so the transformed edges stay covering; a scalar
    # subquery, computed once per statement (a prepared statement's generic plan would otherwise redo it per row)
    search = select(
        func.ST_Transform(func.ST_Segmentize(func.ST_Expand(envelope, margin), segment), WORKING_SRID)
    ).scalar_subquery()
    geometry = collection.table.c[collection.geometry_column]
    projected = func.ST_Simplify(func.ST_Transform(geometry, srid), tolerance, True)
    shaped = func.ST_AsMVTGeom(projected, envelope, EXTENT, BUFFER, True).label("mvt_geom")
    if newest and collection.tile_date is not None:
        date = collection.table.c[collection.tile_date]
        where = [*where, or_(date == select(func.max(date)).where(*where).scalar_subquery(), date.is_(None))]
    rows = select(shaped, *_properties(collection)).where(geometry.op("&&")(search), *where).subquery("tile")
    layer: BindParameter[str] = bindparam("layer", collection.id)
    return select(func.coalesce(func.ST_AsMVT(literal_column("tile"), layer, EXTENT, "mvt_geom"), b"")).select_from(
        rows
    )


def place(where: TileAddress) -> dict[str, float]:
    """The values of a tile's parameters (PLACES)."""
    bounds = where.tms.xy_bounds(where.tile)
    width = bounds.right - bounds.left
    return {
        "left": float(bounds.left),
        "bottom": float(bounds.bottom),
        "right": float(bounds.right),
        "top": float(bounds.top),
        "margin": width * BUFFER / EXTENT,
        "segment": width / 8,
        "tolerance": width / EXTENT / 10,  # a tenth of a pixel
    }


@cache
def tile_template(collection_id: str, tms_id: str) -> Compiled:
    """A tile of a collection with no filter, compiled once (parameters PLACES)."""
    collection = COLLECTIONS[collection_id]
    srid = _srid(tms_id)
    geometry = collection.table.c[collection.geometry_column]
    return compile_select(_tile_select(collection, srid, [geometry.is_not(None)]))


def plain(collection: Collection, query: ItemQuery) -> bool:
    """Whether a tile query is served by ``tile_template``."""
    return prepared(collection) and not (query.filter or query.properties)


def tile_bytes(conn: Connection, collection: Collection, query: ItemQuery, where: TileAddress) -> bytes:
    """The tile as MVT bytes (empty when no feature touches it); one layer named after the collection."""
    conn.exec_driver_sql(NO_JIT)
    if plain(collection, query):
        return bytes(tile_template(collection.id, where.tms.id).rows(conn, **place(where))[0][0])
    newest = collection.tile_date not in query.properties  # ?ref_date=…: the dates asked for, all of them
    statement = _tile_select(collection, where.srid, where_clauses(conn, collection, query), newest)
    return bytes(conn.execute(statement, place(where)).scalar_one())


def tile_matrix_sets_document(base: str) -> dict[str, Any]:
    """The tile matrix sets document: id, title, URI and link of each grid served."""
    return {
        "tileMatrixSets": [
            {
                "id": tms_id,
                "title": morecantile.tms.get(tms_id).title,
                "uri": morecantile.tms.get(tms_id).uri,
                "links": [{"href": f"{base}/tileMatrixSets/{tms_id}", "rel": "self", "type": "application/json"}],
            }
            for tms_id in TILE_MATRIX_SETS
        ]
    }


def tiles_description(collection: Collection) -> str:
    """What a collection's tiles hold, said in the tileset metadata and TileJSON."""
    if collection.tile_date is None:
        return collection.title
    date = collection.tile_date
    return (
        f"{collection.title}: each tile shows the newest {date} among the features asked for (and those without "
        f"one); ?{date}=… shows the {date} given (repeated: each of them), a filter the newest it matches"
    )


def tileset_document(base: str, collection: Collection, tms: TileMatrixSet) -> dict[str, Any]:
    """OGC API - Tiles tileset metadata: vector data, its grid, zooms and the tile URL template."""
    url = f"{base}/collections/{collection.id}/tiles/{tms.id}"
    return {
        "title": f"{collection.title} ({tms.id})",
        "description": tiles_description(collection),
        "dataType": "vector",
        "crs": tms.crs.srs if hasattr(tms.crs, "srs") else str(tms.crs),
        "tileMatrixSetURI": tms.uri,
        "links": [
            {"href": url, "rel": "self", "type": "application/json"},
            {
                "href": f"{base}/tileMatrixSets/{tms.id}",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
            },
            {
                "href": f"{url}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}",
                "rel": "item",
                "type": MEDIA_TYPE,
                "templated": True,
            },
            {"href": f"{url}/tilejson.json", "rel": "alternate", "type": "application/vnd.mapbox.tile+json"},
        ],
        "tileMatrixSetLimits": [
            {
                "tileMatrix": str(z),
                "minTileRow": 0,
                "maxTileRow": tms.matrix(z).matrixHeight - 1,
                "minTileCol": 0,
                "maxTileCol": tms.matrix(z).matrixWidth - 1,
            }
            for z in range(0, min(MAX_ZOOM, tms.maxzoom) + 1)
        ],
        "layers": [
            {
                "id": collection.id,
                "dataType": "vector",
                "propertiesSchema": {
                    "type": "object",
                    "properties": {name: collection.schema(name) for name in collection.tile_names},
                },
            }
        ],
    }


def tilejson_document(
    base: str, collection: Collection, tms: TileMatrixSet, extent: list[float] | None
) -> dict[str, Any]:
    """TileJSON 3.0 for web maps (MapLibre, Leaflet plugins) and QGIS."""
    url = f"{base}/collections/{collection.id}/tiles/{tms.id}"
    return {
        "tilejson": "3.0.0",
        "name": collection.id,
        "description": tiles_description(collection),
        "attribution": collection.publisher,
        "tiles": [f"{url}/{{z}}/{{x}}/{{y}}"],
        "minzoom": 0,
        "maxzoom": min(MAX_ZOOM, tms.maxzoom),
        "bounds": extent or [-180.0, -85.0511, 180.0, 85.0511],
        "vector_layers": [
            {
                "id": collection.id,
                "fields": {name: collection.schema(name)["type"] for name in collection.tile_names},
            }
        ],
    }
