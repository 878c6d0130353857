"""Tables of features as files, one writer per format whatever asks for them (the OGC downloads, the officers'
priority files): CSV (UTF-8, the geometry as WKT), XLSX (one sheet per table, the geometry as the x, y of a point on
it) and GeoPackage (pyogrio). Text a spreadsheet would run as a formula stays text in both CSV and XLSX
(geo.spreadsheet). The columns of a table are typed by the SQL types of the model columns they come from
(``features``), so the same rows give the same fields and cells whichever path read them."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from openpyxl import Workbook
from shapely.geometry.base import BaseGeometry
from sqlalchemy.types import Boolean, Float, Integer, TypeDecorator, TypeEngine

from geo.spreadsheet import csv_cell, write_rows

GEOMETRY_WKT = "geometry_wkt"  # the CSV column of the geometry
POINT_COLUMNS = ("x", "y")  # the sheet columns of a point on the geometry
CSV_FLUSH_BYTES = 1 << 16


def dtype(kind: TypeEngine[Any]) -> str:
    """The pandas dtype of a column of this SQL type: integers and booleans nullable, floats, else Python objects
    (text, dates, and values served as another type than stored, such as 64-bit ids as text)."""
    if isinstance(kind, TypeDecorator):
        return "object"
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "Int64"
    if isinstance(kind, Float):
        return "float64"
    return "object"


def features(
    rows: Sequence[Sequence[Any]],
    types: Mapping[str, TypeEngine[Any]],
    geometries: Sequence[BaseGeometry | None],
    crs: str,
) -> gpd.GeoDataFrame:
    """A table of features: the values of ``rows`` in the columns ``types`` names (in order, typed by them), with
    ``geometries`` in ``crs``."""
    columns = {
        name: pd.Series([row[i] for row in rows], dtype=dtype(kind)) for i, (name, kind) in enumerate(types.items())
    }
    return gpd.GeoDataFrame(pd.DataFrame(columns), geometry=list(geometries), crs=crs)


def _plain(value: Any) -> Any:
    """A cell value as Python has it: numpy scalars unwrapped, every kind of missing value None."""
    value = value.item() if hasattr(value, "item") else value
    return None if value is None or value is pd.NA or value != value else value  # NaN is not equal to itself


def csv_chunks(names: Sequence[str], rows: Iterable[tuple[Sequence[Any], BaseGeometry | None]]) -> Iterator[str]:
    """CSV text in chunks of about CSV_FLUSH_BYTES: a header (``names`` and GEOMETRY_WKT), then for each row its
    values (text in quotes, and a leading ``'`` on text a spreadsheet would run as a formula) and the WKT of its
    geometry."""
    buffer = io.StringIO()
    # text always quoted: a spreadsheet that splits on ";" (Excel in Italian) would otherwise cut "x;=…" in two and
    # run the second cell as a formula
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([*names, GEOMETRY_WKT])
    for values, geometry in rows:
        writer.writerow([*(csv_cell(_plain(v)) for v in values), "" if geometry is None else geometry.wkt])
        if buffer.tell() > CSV_FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _properties(table: gpd.GeoDataFrame) -> list[str]:
    return [name for name in table.columns if name != table.geometry.name]


def to_csv(table: gpd.GeoDataFrame) -> bytes:
    """The features as one CSV file (as ``csv_chunks`` writes them)."""
    names = _properties(table)
    rows = zip(table[names].itertuples(index=False), table.geometry, strict=True)
    return "".join(csv_chunks(names, rows)).encode("utf-8")


def _sheet(table: pd.DataFrame) -> pd.DataFrame:
    """What a sheet shows of a table: features as their properties and the x, y of a point on each geometry."""
    if not isinstance(table, gpd.GeoDataFrame):
        return table
    points = table.geometry.representative_point()
    x, y = ([None if p is None else getattr(p, axis) for p in points] for axis in POINT_COLUMNS)
    return pd.DataFrame(table[_properties(table)]).assign(
        x=pd.Series(x, index=table.index, dtype="float64"), y=pd.Series(y, index=table.index, dtype="float64")
    )


def to_xlsx(sheets: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """A workbook with a sheet per (title, table), in order; features as ``_sheet`` shows them."""
    book = Workbook()
    book.remove(book.active)
    for title, table in sheets:
        write_rows(book.create_sheet(title[:31]), _sheet(table))  # a sheet's title has at most 31 characters
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_gpkg(layers: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """A GeoPackage with a layer per (name, table), in order: features with their geometry and CRS, plain tables
    as attribute tables."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layers.gpkg"
        for number, (name, table) in enumerate(layers):
            pyogrio.write_dataframe(table, path, layer=name, driver="GPKG", append=number > 0)
        return path.read_bytes()
