"""Item queries: bbox, CQL2 filter, property filters, sortby, paging and output CRS, as one SQL statement.

Geometries are transformed and encoded as GeoJSON by PostGIS; the response is assembled around those strings
without parsing them again. The queries most clients send (one feature; a page with at most a bbox, of a collection
not bound to analysis runs) are compiled once per collection and CRS (``Compiled``), and run as the same SQL text by
the routes and by the serving path before them (api.hits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from fastapi import Path
from sqlalchemy import Connection, Integer, LargeBinary, Select, Text, and_, bindparam, cast, func, select, true
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from starlette.datastructures import URL

from api import jsonio
from api.ogc import cql, spatial
from api.ogc.collections import COLLECTIONS, Collection, Identifier64
from api.ogc.errors import bad_request, conflict, not_found
from geo.analysis.runs import latest_run
from geo.crs import CrsInfo

COORDINATE_DECIMALS = {True: 6, False: 2}  # degrees (≈ 0.1 m) or metres (1 cm)
GEOJSON = "application/geo+json"
JSON = "application/json"
DIALECT = PGDialect_psycopg()


@dataclass
class ItemQuery:
    """The parsed parameters of an items request (and of tiles and downloads, which filter the same way)."""

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


# the newest load of a collection's source layers: any new load that replaces their rows moves it
VERSION_SQL = "SELECT coalesce(max(id), 0) FROM meta.ingest_run WHERE layer = ANY(%(layers)s) AND status = 'succeeded'"


@dataclass(frozen=True)
class Pin:
    """What a page's next and prev links carry so that a traversal reads one state of the data: the analysis run
    of a results collection (its rows never change), else the version of its source layers (checked)."""

    parameter: str  # "run" or "version"
    value: int


def version_of(conn: Connection, collection: Collection) -> int:
    """The version of the collection's data: the id of the newest successful load of its source layers."""
    return int(conn.exec_driver_sql(VERSION_SQL, {"layers": list(collection.layers)}).scalar_one())


def run_of(conn: Connection, collection: Collection, query: ItemQuery) -> int | None:
    """The analysis run a query of a results collection reads: the one asked for, else the latest (of the scenario
    asked for by its property, if one is)."""
    if query.run_id is not None or collection.run_kind is None:
        return query.run_id
    scenarios = query.properties.get("scenario", []) if "scenario" in collection.properties else []
    return latest_run(conn, collection.run_kind, scenarios[0] if len(scenarios) == 1 else None)


def pin(conn: Connection, collection: Collection, query: ItemQuery, version: int | None) -> Pin | None:
    """The pin of a page (and the run it reads set on ``query``); a 409 when ``version`` (from a next link) is no
    longer the data's: the pages already read and the next one would mix two loads."""
    if collection.run_kind is not None:
        if version is not None:
            raise bad_request("version", "results collections are paged by run (the next links carry run)")
        query.run_id = run_of(conn, collection, query)
        return Pin("run", query.run_id) if query.run_id is not None else None
    if not collection.layers:
        return None
    return version_pin(collection, version, version_of(conn, collection))


def version_pin(collection: Collection, version: int | None, current: int) -> Pin:
    """The pin of a page of ``collection``, whose source layers are at version ``current``; a 409 when ``version``
    (from a next link) is another."""
    if version is not None and version != current:
        raise conflict(
            "version",
            f"the data of {collection.id} changed since this paging started (version {version}, now {current}); "
            "start again from the first page, without offset and version",
        )
    return Pin("version", current)


CollectionId = Annotated[str, Path(description="Collection id, e.g. municipalities", pattern=r"^[a-z][a-z0-9-]*$")]


def collection_or_404(collection_id: str) -> Collection:
    """The published collection with this id; a 404 document naming where to look otherwise."""
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise not_found(f"no collection {collection_id!r}; see /collections")
    return collection


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """The four numbers of a ``bbox`` parameter (a 3D box loses its heights), None when absent; a 400 otherwise."""
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
    """The (property, descending) keys of a ``sortby`` parameter (``-`` sorts descending); a 400 for an unknown
    property."""
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
    """The conditions a feature must meet: a geometry, the run, the bbox, the CQL2 filter and the simple property
    filters."""
    table = collection.table
    # features are served with a geometry (the Part 1 1.0 schema); routeless priority items stay in `priorities`
    clauses: list[ColumnElement] = [table.c[collection.geometry_column].is_not(None)]
    if collection.run_kind is not None:
        clauses.append(table.c.run_id == (run_of(conn, collection, query) or -1))
    if query.bbox is not None:
        clauses.append(
            func.ST_Intersects(
                table.c[collection.geometry_column], spatial.envelope(*query.bbox, query.bbox_crs, "bbox")
            )
        )
    if query.filter:
        columns: dict[str, ColumnElement] = {name: table.c[name] for name in collection.properties}
        clauses.append(
            cql.to_sql(query.filter, query.filter_lang, columns, table.c[collection.geometry_column], query.filter_crs)
        )
    for name, values in query.properties.items():
        clauses.append(cast(table.c[name], Text).in_(values))  # a repeated parameter: any of its values
    return clauses


def items_statement(
    conn: Connection, collection: Collection, query: ItemQuery, encoding: str = "geojson"
) -> tuple[Select, Select]:
    """The SELECT of a page of features (id, properties, geometry as GeoJSON or WKB, in a stable order) and the SELECT
    counting every match."""
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


def feature_text(values: Sequence[Any], names: Sequence[str]) -> str:
    """One GeoJSON Feature as text from a row (id, the properties ``names``, the geometry as GeoJSON text), the
    geometry string from PostGIS inserted as it is."""
    properties = dict(zip(names, values[1:-1], strict=True))
    geometry = values[-1] if values[-1] is not None else "null"
    head = jsonio.dumps({"type": "Feature", "id": values[0], "properties": properties})
    return head[:-1] + ',"geometry":' + geometry + "}"


def feature(row: Any, collection: Collection) -> str:
    """One GeoJSON Feature as text from a row of ``items_statement``."""
    return feature_text(tuple(row), collection.properties)


@dataclass(frozen=True)
class Compiled:
    """A SELECT compiled once for psycopg: its SQL text (named parameters), its constant parameter values, and the
    conversion of each result column SQLAlchemy would apply (64-bit ids as text)."""

    sql: str
    params: dict[str, Any]
    converters: tuple[Callable[[Any], Any] | None, ...]

    def bind(self, **values: Any) -> dict[str, Any]:
        """The parameters to execute it with: its constant ones updated with ``values``."""
        return {**self.params, **values}

    def values(self, row: Sequence[Any]) -> list[Any]:
        """A driver row converted as SQLAlchemy would."""
        return [v if c is None or v is None else c(v) for v, c in zip(row, self.converters, strict=True)]

    def rows(self, conn: Connection, **values: Any) -> list[list[Any]]:
        """The rows as SQLAlchemy would give them, for these parameter values, on a connection of the engine."""
        return [self.values(row) for row in conn.exec_driver_sql(self.sql, self.bind(**values)).all()]


def compile_select(statement: Select) -> Compiled:
    """``statement`` compiled once for the PostgreSQL dialect, with its result conversions."""
    compiled = statement.compile(dialect=DIALECT)
    converters = tuple(
        (lambda value, kind=column.type: kind.process_result_value(value, DIALECT))
        if isinstance(column.type, TypeDecorator)
        else None
        for column in statement.selected_columns
    )
    return Compiled(str(compiled), dict(compiled.params), converters)


def _columns(collection: Collection, crs: CrsInfo) -> list[ColumnElement]:
    table = collection.table
    return [
        table.c[collection.id_column].label("_fid"),
        *(table.c[name] for name in collection.properties),
        _geometry(collection, crs, "geojson").label("_geojson"),
    ]


def prepared(collection: Collection) -> bool:
    """Whether the collection's plain queries have compiled statements (not those filtered by analysis run)."""
    return collection.run_kind is None


@cache
def item_template(collection_id: str, crs: CrsInfo) -> Compiled:
    """One feature by id (parameter ``fid``), as ``items_statement`` with the id's equality."""
    collection = COLLECTIONS[collection_id]
    table = collection.table
    id_column = table.c[collection.id_column]
    statement = (
        select(*_columns(collection, crs))
        .where(and_(true(), table.c[collection.geometry_column].is_not(None)))
        .order_by(id_column.asc())
        .offset(0)
        .limit(1)
        .where(id_column == bindparam("fid", type_=id_column.type))
    )
    return compile_select(statement)


@dataclass(frozen=True)
class PageTemplate:
    """A page's statement and its count's. With ``counted`` (a page within a box), the page's rows end with the
    number of all matches, a window over the matches the page is sorted from anyway: one statement, not two."""

    rows: Compiled
    count: Compiled
    counted: bool

    def read(self, found: list[list[Any]], limit: int, offset: int) -> tuple[list[list[Any]], int | None]:
        """The page's rows without the count, and the number of matches when they tell it (None: count them)."""
        if self.counted:
            return [row[:-1] for row in found], found[0][-1] if found else None
        return found, page_matched(len(found), limit, offset)


@cache
def page_template(collection_id: str, crs: CrsInfo, bbox: bool) -> PageTemplate:
    """A page (parameters ``limit``, ``offset`` and, with ``bbox``, the box as ``spatial.working_ewkb``) and its
    count, as ``items_statement`` for a query with no filter, property or sort key. Without a box the page is
    read in id order from the index and stops at its end, so its count is a statement of its own."""
    collection = COLLECTIONS[collection_id]
    table = collection.table
    geometry = table.c[collection.geometry_column]
    clauses: list[ColumnElement] = [geometry.is_not(None)]
    columns = _columns(collection, crs)
    if bbox:  # a scalar subquery: transformed once per statement, in a prepared statement's generic plan too
        box = select(spatial.in_working(bindparam("bbox", type_=LargeBinary))).scalar_subquery()
        clauses.append(func.ST_Intersects(geometry, box))
        columns.append(func.count().over().label("_matched"))
    where = and_(true(), *clauses)
    statement = (
        select(*columns)
        .where(where)
        .order_by(table.c[collection.id_column].asc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    count = select(func.count()).select_from(table).where(where)
    return PageTemplate(compile_select(statement), compile_select(count), bbox)


def feature_key(collection: Collection, feature_id: str) -> str | int | None:
    """The id value to look for (None: no feature can have it)."""
    id_column = collection.table.c[collection.id_column]
    if isinstance(id_column.type, Integer | Identifier64):
        if not feature_id.isdigit() or len(feature_id) > 18:
            return None
        return int(feature_id)
    return feature_id


def feature_body(found: str, self_url: str, collection_url: str) -> str:
    """One feature's document: the Feature with its links."""
    links = jsonio.dumps(
        [
            {"href": self_url, "rel": "self", "type": GEOJSON},
            {"href": collection_url, "rel": "collection", "type": JSON},
        ]
    )
    return found[:-1] + f', "links": {links}}}'


def _page_link(url: URL, rel: str, offset: int, pinned: Pin | None) -> dict[str, str]:
    parameters: dict[str, int] = {"offset": offset}
    if pinned is not None:
        parameters[pinned.parameter] = pinned.value
    return {"href": str(url.include_query_params(**parameters)), "rel": rel, "type": GEOJSON}


def page_body(url: URL, features: list[str], matched: int, offset: int, page: int, pinned: Pin | None) -> str:
    """A page's FeatureCollection with its links (next and previous pages of ``page`` features, pinned)."""
    links = [{"href": str(url), "rel": "self", "type": GEOJSON}]
    if offset + len(features) < matched:
        links.append(_page_link(url, "next", offset + page, pinned))
    if offset > 0:
        links.append(_page_link(url, "prev", max(0, offset - page), pinned))
    head = (
        '{"type": "FeatureCollection", '
        f'"numberMatched": {matched}, "numberReturned": {len(features)}, '
        f'"links": {jsonio.dumps(links)}, "features": ['
    )
    return head + ",".join(features) + "]}"


def page_matched(rows: int, limit: int, offset: int) -> int | None:
    """The number of matching features when a page tells it (the last page), None when a count must say."""
    return offset + rows if rows and rows < limit else None


def fetch_items(conn: Connection, collection: Collection, query: ItemQuery) -> tuple[list[str], int]:
    """The GeoJSON features of a page as text and the number matched, by the compiled statements for plain queries."""
    if prepared(collection) and not (query.filter or query.sortby or query.properties) and query.limit is not None:
        template = page_template(collection.id, query.crs, query.bbox is not None)
        values: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
        if query.bbox is not None:
            values["bbox"] = spatial.envelope_ewkb(*query.bbox, query.bbox_crs, "bbox")
        found, matched = template.read(template.rows.rows(conn, **values), query.limit, query.offset)
        if matched is None:
            matched = template.count.rows(conn, **values)[0][0]
        return [feature_text(row, collection.properties) for row in found], matched
    statement, count = items_statement(conn, collection, query)
    rows = conn.execute(statement).all()
    matched = page_matched(len(rows), query.limit, query.offset) if query.limit is not None else None
    if matched is None:
        matched = conn.execute(count).scalar_one()
    return [feature(row, collection) for row in rows], matched


def fetch_item(
    conn: Connection, collection: Collection, feature_id: str, crs: CrsInfo, run_id: int | None
) -> str | None:
    """One GeoJSON feature as text in ``crs``, or None when there is no feature of that id."""
    value = feature_key(collection, feature_id)
    if value is None:
        return None
    if prepared(collection):
        found = item_template(collection.id, crs).rows(conn, fid=value)
        return feature_text(found[0], collection.properties) if found else None
    query = ItemQuery(None, crs, crs, None, "cql2-text", crs, [], {}, 1, 0, run_id)
    statement, _ = items_statement(conn, collection, query)
    row = conn.execute(statement.where(collection.table.c[collection.id_column] == value)).first()
    return feature(row, collection) if row is not None else None


def extent(conn: Connection, collection: Collection) -> list[float] | None:
    """The collection's bounding box in CRS84 (None when it is empty)."""
    geometry = collection.table.c[collection.geometry_column]
    aggregate = select(func.ST_Extent(func.ST_Transform(geometry, 4326)).label("box")).select_from(collection.table)
    box = aggregate.subquery().c.box  # one aggregate, read four times
    corners = conn.execute(select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))).one()
    return None if corners[0] is None else [round(v, 6) for v in corners]
