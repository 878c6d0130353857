"""The items of a query as files: CSV (streamed), XLSX and GeoPackage, with the same bbox, filter, crs and sortby."""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from sqlalchemy import Connection, Engine, Row

from api.deps import StoreState
from api.ogc import features
from api.ogc.collections import Collection
from geo.spreadsheet import csv_cell, write_rows

CSV_BATCH_ROWS = 2000
CSV_FLUSH_BYTES = 1 << 16

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "gpkg": "application/geopackage+sqlite3",
}


def _attachment(collection: Collection, fmt: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{collection.id}.{fmt}"'}


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
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    try:
        writer.writerow([*collection.properties, "geometry_wkt"])
        for row in itertools.chain([first] if first is not None else [], rest):
            values = row._mapping
            wkb = values["_wkb"]
            writer.writerow(
                [*(csv_cell(values[n]) for n in collection.properties), shapely.from_wkb(bytes(wkb)).wkt if wkb else ""]
            )
            if buffer.tell() > CSV_FLUSH_BYTES:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    finally:
        conn.close()
        release()


def _frame(engine: Engine, collection: Collection, query: features.ItemQuery) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        statement, _ = features.items_statement(conn, collection, query, encoding="wkb")
        rows = conn.execute(statement).all()
    data = pd.DataFrame(
        [{n: r._mapping[n] for n in collection.properties} for r in rows], columns=list(collection.properties)
    )
    geometry = [shapely.from_wkb(bytes(r._mapping["_wkb"])) if r._mapping["_wkb"] else None for r in rows]
    return gpd.GeoDataFrame(data, geometry=geometry, crs=f"EPSG:{query.crs.srid}" if query.crs.epsg else "OGC:CRS84")


def _xlsx(frame: gpd.GeoDataFrame, collection: Collection) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = collection.id[:31]
    points = frame.geometry.representative_point()
    table = pd.DataFrame(frame[list(collection.properties)]).assign(
        x=pd.Series([None if p is None else p.x for p in points], index=frame.index, dtype="float64"),
        y=pd.Series([None if p is None else p.y for p in points], index=frame.index, dtype="float64"),
    )
    write_rows(sheet, table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _gpkg(frame: gpd.GeoDataFrame, collection: Collection) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{collection.id}.gpkg"
        pyogrio.write_dataframe(frame, path, layer=collection.id.replace("-", "_"), driver="GPKG")
        return path.read_bytes()


def download(
    store: StoreState, engine: Engine, collection: Collection, query: features.ItemQuery, fmt: str
) -> Response:
    """The items as a file, built in one of the store's few export slots (a CSV holds its slot while it streams)."""
    headers = {**_attachment(collection, fmt), "Content-Crs": f"<{query.crs.uri}>"}
    if fmt == "csv":
        rows = _csv_stream(engine, collection, query, store.take_export_slot())
        return StreamingResponse(rows, media_type=FORMATS[fmt], headers=headers)
    with store.export_slot():
        frame = _frame(engine, collection, query)
        body = _xlsx(frame, collection) if fmt == "xlsx" else _gpkg(frame, collection)
    return Response(body, media_type=FORMATS[fmt], headers=headers)


PRIORITY_MEDIA = {**FORMATS, "geojson": "application/geo+json"}


def priorities_file(engine: Engine, fmt: str, run_id: int | None, scenario: str | None = None) -> Response:
    """The officers' priority list of a run (``run_id``, else the latest of ``scenario``, else the latest)."""
    from geo.analysis import exports

    loaded, body = exports.export(engine, fmt, run_id, scenario)
    headers = {"Content-Disposition": f'attachment; filename="{loaded.file_stem}.{fmt}"'}
    return Response(body, media_type=PRIORITY_MEDIA[fmt], headers=headers)
