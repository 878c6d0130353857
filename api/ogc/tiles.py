"""Mapbox Vector Tiles of a collection, built by PostGIS (``ST_AsMVTGeom``/``ST_AsMVT``) over the tile grids of
``morecantile``, with the same filters as the items; and the OGC API - Tiles documents that describe them.

Geometries are simplified to a tenth of a pixel of the tile before encoding, so a national layer at zoom 6 ships
what the screen can show, not every vertex of the boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import morecantile
from morecantile import TileMatrixSet
from sqlalchemy import Connection, Date, Text, bindparam, cast, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from api.ogc.collections import Collection
from api.ogc.errors import not_found
from api.ogc.features import ItemQuery, where_clauses
from geo.models import WORKING_SRID

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096  # tile coordinates per side
BUFFER = 64  # coordinates beyond the edge kept, so strokes do not break at tile borders
TILE_MATRIX_SETS = ("WebMercatorQuad",)  # the grids served; any morecantile id can be added
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileAddress:
    tms: TileMatrixSet
    tile: morecantile.Tile

    @property
    def srid(self) -> int:
        return int(self.tms.crs.to_epsg() or 3857)


def tile_matrix_set(tms_id: str) -> TileMatrixSet:
    if tms_id not in TILE_MATRIX_SETS:
        raise not_found(f"no tile matrix set {tms_id!r}; served: {', '.join(TILE_MATRIX_SETS)}")
    return morecantile.tms.get(tms_id)


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
    columns = []
    for name in collection.tile_names:
        column = collection.table.c[name]
        columns.append(cast(column, Text).label(name) if isinstance(column.type, Date) else column)
    return columns


def tile_bytes(conn: Connection, collection: Collection, query: ItemQuery, where: TileAddress) -> bytes:
    """The tile as MVT bytes (empty when no feature touches it); one layer named after the collection."""
    bounds = where.tms.xy_bounds(where.tile)
    width = bounds.right - bounds.left
    envelope = func.ST_MakeEnvelope(
        *(bindparam(None, float(v)) for v in (bounds.left, bounds.bottom, bounds.right, bounds.top)),
        bindparam(None, where.srid),
    )
    margin = width * BUFFER / EXTENT
    # the tile (with its buffer) in the working CRS, densified so the transformed edges stay covering
    search = func.ST_Transform(func.ST_Segmentize(func.ST_Expand(envelope, margin), width / 8), WORKING_SRID)
    geometry = collection.table.c[collection.geometry_column]
    projected = func.ST_Simplify(func.ST_Transform(geometry, where.srid), width / EXTENT / 10, True)
    shaped = func.ST_AsMVTGeom(projected, envelope, EXTENT, BUFFER, True).label("mvt_geom")
    rows = (
        select(shaped, *_properties(collection))
        .where(geometry.op("&&")(search), *where_clauses(conn, collection, query))
        .subquery("tile")
    )
    layer = bindparam(None, collection.id)
    statement = select(
        func.coalesce(func.ST_AsMVT(literal_column("tile"), layer, EXTENT, "mvt_geom"), b"")
    ).select_from(rows)
    return bytes(conn.execute(statement).scalar_one())


def tile_matrix_sets_document(base: str) -> dict[str, Any]:
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


def tileset_document(base: str, collection: Collection, tms: TileMatrixSet) -> dict[str, Any]:
    """OGC API - Tiles tileset metadata: vector data, its grid, zooms and the tile URL template."""
    url = f"{base}/collections/{collection.id}/tiles/{tms.id}"
    return {
        "title": f"{collection.title} ({tms.id})",
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
        "description": collection.title,
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
