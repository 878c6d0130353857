"""Item queries: bbox, CQL2 filter, property filters, sortby, paging and output CRS, as one SQL statement.

Geometries are transformed and encoded as GeoJSON by PostGIS; the response is assembled around those strings
without parsing them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path
from sqlalchemy import Connection, Integer, Select, Text, and_, cast, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from api import jsonio
from api.ogc import cql, spatial
from api.ogc.collections import COLLECTIONS, Collection, Identifier64
from api.ogc.errors import bad_request, not_found
from geo.analysis.runs import latest_run
from geo.crs import CrsInfo

COORDINATE_DECIMALS = {True: 6, False: 2}  # degrees (≈ 0.1 m) or metres (1 cm)


@dataclass
class ItemQuery:
    bbox: tuple[float, float, float, float] | None
    bbox_crs: CrsInfo
    crs: CrsInfo
    filter: str | None
    filter_lang: str
    filter_crs: CrsInfo
    sortby: list[tuple[str, bool]]  # (property, descending)
    properties: dict[str, list[str]]  # simple property filters: name = any of the values given
    limit: int | None  # None: every matching feature (file downloads)
    offset: int
    run_id: int | None


CollectionId = Annotated[str, Path(description="Collection id, e.g. municipalities", pattern=r"^[a-z][a-z0-9-]*$")]


def collection_or_404(collection_id: str) -> Collection:
    """The published collection with this id; a 404 document naming where to look otherwise."""
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise not_found(f"no collection {collection_id!r}; see /collections")
    return collection


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError as exc:
        raise bad_request("bbox", f"{value!r} is not four comma-separated numbers") from exc
    if len(numbers) == 6:  # 3D box: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise bad_request("bbox", f"{value!r} needs 4 numbers (minx,miny,maxx,maxy)")
    return numbers[0], numbers[1], numbers[2], numbers[3]


def property_filters(
    parameters: list[tuple[str, str]], collection: Collection, reserved: set[str]
) -> dict[str, list[str]]:
    """The query parameters naming a property (a repeated one: any of its values); 400 for any other unknown one."""
    found: dict[str, list[str]] = {}
    for key, value in parameters:
        if key not in reserved:
            found.setdefault(key, []).append(value)
    unknown = [k for k in found if k not in collection.properties]
    if unknown:
        raise bad_request(unknown[0], f"unknown parameter; queryables: {', '.join(collection.properties)}")
    return found


def parse_sortby(value: str | None, collection: Collection) -> list[tuple[str, bool]]:
    if not value:
        return []
    keys = []
    for item in value.split(","):
        item = item.strip()
        descending = item.startswith("-")
        name = item.lstrip("+-")
        if name not in collection.properties:
            raise bad_request("sortby", f"unknown property {name!r}; sortable: {', '.join(collection.properties)}")
        keys.append((name, descending))
    return keys


def _geometry(collection: Collection, crs: CrsInfo, encoding: str) -> ColumnElement:
    """The geometry in ``crs`` (its axis order for GeoJSON), as GeoJSON text or, for file downloads, as WKB."""
    geometry = func.ST_Transform(collection.table.c[collection.geometry_column], crs.srid)
    if encoding == "wkb":
        return func.ST_AsBinary(geometry)  # GIS files keep x = easting whatever the authority's axis order
    if crs.northing_first:
        geometry = func.ST_FlipCoordinates(geometry)
    decimals = COORDINATE_DECIMALS[crs.srid in (4326,)]
    return func.ST_AsGeoJSON(geometry, decimals, 0)  # options 0: no "crs" member (RFC 7946; Content-Crs says it)


def where_clauses(conn: Connection, collection: Collection, query: ItemQuery) -> list[ColumnElement]:
    table = collection.table
    # features are served with a geometry (the Part 1 1.0 schema); routeless priority items stay in `priorities`
    clauses: list[ColumnElement] = [table.c[collection.geometry_column].is_not(None)]
    if collection.run_kind is not None:
        # a scenario asked for by its property means that scenario's latest run, not the latest run of any
        scenarios = query.properties.get("scenario", []) if "scenario" in collection.properties else []
        scenario = scenarios[0] if len(scenarios) == 1 else None
        run_id = query.run_id or latest_run(conn, collection.run_kind, scenario)
        clauses.append(table.c.run_id == (run_id or -1))
    if query.bbox is not None:
        clauses.append(
            func.ST_Intersects(
                table.c[collection.geometry_column], spatial.envelope(*query.bbox, query.bbox_crs, "bbox")
            )
        )
    if query.filter:
        columns = {name: table.c[name] for name in collection.properties}
        clauses.append(
            cql.to_sql(query.filter, query.filter_lang, columns, table.c[collection.geometry_column], query.filter_crs)
        )
    for name, values in query.properties.items():
        clauses.append(cast(table.c[name], Text).in_(values))  # a repeated parameter: any of its values
    return clauses


def items_statement(
    conn: Connection, collection: Collection, query: ItemQuery, encoding: str = "geojson"
) -> tuple[Select, Select]:
    table = collection.table
    columns = [table.c[name] for name in collection.properties]
    where = and_(true(), *where_clauses(conn, collection, query))
    order = [table.c[name].desc() if desc else table.c[name].asc() for name, desc in query.sortby]
    order.append(table.c[collection.id_column].asc())  # a stable order makes paging complete and repeatable
    statement = (
        select(
            table.c[collection.id_column].label("_fid"),
            *columns,
            _geometry(collection, query.crs, encoding).label("_geojson" if encoding == "geojson" else "_wkb"),
        )
        .where(where)
        .order_by(*order)
        .offset(query.offset)
    )
    if query.limit is not None:
        statement = statement.limit(query.limit)
    count = select(func.count()).select_from(table).where(where)
    return statement, count


def feature(row: Any, collection: Collection) -> str:
    """One GeoJSON Feature as text, the geometry string from PostGIS inserted as it is."""
    values = row._mapping
    properties = {name: values[name] for name in collection.properties}
    geometry = values["_geojson"] if values["_geojson"] is not None else "null"
    head = jsonio.dumps({"type": "Feature", "id": values["_fid"], "properties": properties})
    return head[:-1] + ',"geometry":' + geometry + "}"


def fetch_items(conn: Connection, collection: Collection, query: ItemQuery) -> tuple[list[str], int]:
    statement, count = items_statement(conn, collection, query)
    rows = conn.execute(statement).all()
    if rows and query.limit is not None and len(rows) < query.limit:
        matched = query.offset + len(rows)  # the last page: the count is known without asking for it
    else:
        matched = conn.execute(count).scalar_one()
    return [feature(row, collection) for row in rows], matched


def fetch_item(
    conn: Connection, collection: Collection, feature_id: str, crs: CrsInfo, run_id: int | None
) -> str | None:
    query = ItemQuery(None, crs, crs, None, "cql2-text", crs, [], {}, 1, 0, run_id)
    statement, _ = items_statement(conn, collection, query)
    id_column = collection.table.c[collection.id_column]
    value: Any = feature_id
    if isinstance(id_column.type, Integer | Identifier64):
        if not feature_id.isdigit() or len(feature_id) > 18:
            return None
        value = int(feature_id)
    row = conn.execute(statement.where(id_column == value)).first()
    return feature(row, collection) if row is not None else None


def extent(conn: Connection, collection: Collection) -> list[float] | None:
    """The collection's bounding box in CRS84 (None when it is empty)."""
    geometry = collection.table.c[collection.geometry_column]
    aggregate = select(func.ST_Extent(func.ST_Transform(geometry, 4326)).label("box")).select_from(collection.table)
    box = aggregate.subquery().c.box  # one aggregate, read four times
    box = conn.execute(select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))).one()
    return None if box[0] is None else [round(v, 6) for v in box]
