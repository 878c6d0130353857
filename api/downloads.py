"""The items of a query as files: CSV (streamed), XLSX and GeoPackage, with the same bbox, filter, crs and sortby;
written by geo.writers, as the officers' priority files are."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

import shapely
from fastapi.responses import Response, StreamingResponse
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine, Row

from api.deps import StoreState
from api.ogc import features
from api.ogc.collections import Collection

if TYPE_CHECKING:
    import geopandas as gpd

# geo.writers (pandas, geopandas, openpyxl, pyogrio: about 1 s to import) is imported by the first download, not by
# the service's start-up: most service processes never write a file

CSV_BATCH_ROWS = 2000

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}


def attachment(filename: str) -> dict[str, str]:
    """The Content-Disposition of a download named ``filename``: RFC 6266's encoded form where the name is not plain
    ASCII, so that no name in the data can break the header."""
    quoted = quote(filename, safe="")
    if quoted == filename:
        return {"Content-Disposition": f'attachment; filename="{filename}"'}
    return {"Content-Disposition": f"attachment; filename*=utf-8''{quoted}"}


def _shape(row: Row) -> BaseGeometry | None:
    wkb = row._mapping["_wkb"]
    return shapely.from_wkb(bytes(wkb)) if wkb else None


def _csv_stream(
    engine: Engine, collection: Collection, query: features.ItemQuery, release: Callable[[], None]
) -> Iterator[str]:
    """Rows as they come from a server-side cursor; codes stay text, geometry as WKT in the output CRS.

    The statement is built and its first row read before the response starts, so that a client's mistake (a
    filter on an unknown property, a value of the wrong type) is still answered as its 400 document."""
    conn = engine.connect().execution_options(stream_results=True, yield_per=CSV_BATCH_ROWS)
    try:
        statement, _ = features.items_statement(conn, collection, query, encoding="wkb")
        rows = iter(conn.execute(statement))
        first = next(rows, None)
    except BaseException:
        conn.close()
        release()
        raise
    return _csv_lines(conn, collection, first, rows, release)


def _csv_lines(
    conn: Connection, collection: Collection, first: Row | None, rest: Iterator[Row], release: Callable[[], None]
) -> Iterator[str]:
    from geo import writers

    try:
        rows = itertools.chain([first] if first is not None else [], rest)
        values = (([row._mapping[n] for n in collection.properties], _shape(row)) for row in rows)
        yield from writers.csv_chunks(collection.properties, values)
    finally:
        conn.close()
        release()


def _frame(engine: Engine, collection: Collection, query: features.ItemQuery) -> gpd.GeoDataFrame:
    from geo import writers

    with engine.connect() as conn:
        statement, _ = features.items_statement(conn, collection, query, encoding="wkb")
        rows = conn.execute(statement).all()
    types = {name: collection.table.c[name].type for name in collection.properties}
    values = [[row._mapping[name] for name in collection.properties] for row in rows]
    crs = f"EPSG:{query.crs.srid}" if query.crs.epsg else "OGC:CRS84"
    return writers.features(values, types, [_shape(row) for row in rows], crs)


def download(
    store: StoreState, engine: Engine, collection: Collection, query: features.ItemQuery, fmt: str
) -> Response:
    """The items as a file, built in one of the store's few export slots (a CSV holds its slot while it streams)."""
    headers = {**attachment(f"{collection.id}.{fmt}"), "Content-Crs": f"<{query.crs.uri}>"}
    if fmt == "csv":
        rows = _csv_stream(engine, collection, query, store.take_export_slot())
        return StreamingResponse(rows, media_type=FORMATS[fmt], headers=headers)
    from geo import writers

    with store.export_slot():
        frame = _frame(engine, collection, query)
        if fmt == "xlsx":
            body = writers.to_xlsx([(collection.id, frame)])
        else:
            body = writers.to_gpkg([(collection.id.replace("-", "_"), frame)])
    return Response(body, media_type=FORMATS[fmt], headers=headers)


PRIORITY_MEDIA = {**FORMATS, "geojson": "application/geo+json"}


def priorities_file(engine: Engine, fmt: str, run_id: int | None, scenario: str | None = None) -> Response:
    """The officers' priority list of a run (``run_id``, else the latest of ``scenario``, else the latest)."""
    from geo.analysis import exports

    loaded, body = exports.export(engine, fmt, run_id, scenario)
    return Response(body, media_type=PRIORITY_MEDIA[fmt], headers=attachment(f"{loaded.file_stem}.{fmt}"))
