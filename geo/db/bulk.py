"""Bulk loading with COPY, staging tables, and content hashes of table contents."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import Connection, Table, text

# Columns that record where a row came from, not what it says: left out of content hashes.
PROVENANCE_COLUMNS = frozenset({"ingest_run_id"})

CSV_NULL = r"\N"  # a quoted or empty field stays a string, which NOT NULL text columns rely on
CSV_CHUNK_ROWS = 100_000
# Arrow quotes every string (so "", "\\N" and line breaks stay text) and leaves numbers, dates and NULLs bare
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, null_string=CSV_NULL, quoting_style="needed")
CSV_KINDS = frozenset(
    {"string", "empty", "integer", "floating", "mixed-integer-float", "boolean", "date", "datetime", "datetime64"}
)

Scope = dict[str, Any]
"""Equality filters on columns that delimit the rows a load replaces (empty: the whole table)."""


def _qualified(table: Table) -> str:
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'


def _geometry_columns(table: Table) -> dict[str, int]:
    return {c.name: c.type.srid for c in table.columns if isinstance(c.type, Geometry)}


def _rows(frame: pd.DataFrame, columns: Sequence[str], geometry: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    data: list[np.ndarray] = []
    for name in columns:
        values = frame[name].to_numpy(dtype=object)
        if name in geometry:
            geoms = shapely.set_srid(np.asarray(values, dtype=object), geometry[name])
            values = shapely.to_wkb(geoms, hex=True, include_srid=True)
        data.append(np.asarray(values, dtype=object))
    for row in zip(*data, strict=True):
        yield tuple(None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else v for v in row)


def create_staging(conn: Connection, table: Table) -> str:
    """A temporary copy of ``table``'s columns, dropped at commit; returns its name."""
    name = f"stg_{table.schema}_{table.name}"
    conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    conn.execute(text(f'CREATE TEMP TABLE "{name}" (LIKE {_qualified(table)} INCLUDING DEFAULTS) ON COMMIT DROP'))
    return name


def _as_csv_table(frame: pd.DataFrame, columns: Sequence[str], geometry: dict[str, int]) -> pa.Table | None:
    """The columns as an Arrow table ready to be written as CSV (geometries as hex EWKB), or None when a column
    holds values that CSV text would not carry faithfully (lists, mappings, bytes, mixed kinds)."""
    out = {}
    for name in columns:
        values = frame[name]
        if name in geometry:
            geoms = shapely.set_srid(np.asarray(values.to_numpy(dtype=object), dtype=object), geometry[name])
            values = pd.Series(shapely.to_wkb(geoms, hex=True, include_srid=True), index=frame.index, dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) not in CSV_KINDS:
            return None
        out[name] = values
    try:
        return pa.Table.from_pandas(pd.DataFrame(out, index=frame.index), preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):  # e.g. integers and text in one column
        return None


def copy_frame(conn: Connection, target: str, table: Table, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (columns named as in ``table``) into ``target``; returns the row count.

    Frames of plain values go as CSV text written by Arrow in batches (no Python per row); any other frame row by
    row through psycopg's adapters.
    """
    columns = [c.name for c in table.columns if c.name in frame.columns]
    geometry = _geometry_columns(table)
    column_list = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None  # an open connection has its driver's
    plain = _as_csv_table(frame, columns, geometry)
    if plain is None:
        with raw.cursor() as cur, cur.copy(f'COPY "{target}" ({column_list}) FROM STDIN') as copy:
            for row in _rows(frame, columns, geometry):
                copy.write_row(row)
        return len(frame)
    statement = f"COPY \"{target}\" ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '{CSV_NULL}')"
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for batch in plain.to_batches(max_chunksize=CSV_CHUNK_ROWS):
            sink = pa.BufferOutputStream()
            pa_csv.write_csv(batch, sink, CSV_OPTIONS)
            copy.write(sink.getvalue())
    return len(frame)


def _where(table: Table, scope: Scope) -> tuple[str, dict[str, Any]]:
    names = {c.name for c in table.columns}
    unknown = set(scope) - names
    if unknown:
        raise ValueError(f"scope names columns {sorted(unknown)} that {table.fullname} does not have")
    if not scope:
        return "", {}
    clauses = [f'"{name}" = :scope_{i}' for i, name in enumerate(scope)]
    return " WHERE " + " AND ".join(clauses), {f"scope_{i}": v for i, v in enumerate(scope.values())}


def content_hash(conn: Connection, relation: str, table: Table, scope: Scope | None = None) -> str:
    """MD5 over the rows of ``relation`` (laid out like ``table``) in ``scope``, in key order, provenance left out."""
    columns = [c.name for c in table.columns if c.name not in PROVENANCE_COLUMNS]
    keys = [c.name for c in table.primary_key.columns]
    row_expr = "row(" + ", ".join(f'"{c}"' for c in columns) + ")::text"
    order = ", ".join(f'"{k}"' for k in keys)
    where, params = _where(table, scope or {})
    query = f"SELECT md5(coalesce(string_agg({row_expr}, E'\\n' ORDER BY {order}), '')) FROM {relation}{where}"
    return str(conn.execute(text(query), params).scalar_one())


def count(conn: Connection, table: Table, scope: Scope | None = None) -> int:
    """Live rows of ``table`` in ``scope`` (all when empty)."""
    where, params = _where(table, scope or {})
    return int(conn.execute(text(f"SELECT count(*) FROM {_qualified(table)}{where}"), params).scalar_one())


def swap(conn: Connection, staging: str, table: Table, scope: Scope | None = None) -> int:
    """Replace the live rows of ``table`` in ``scope`` (all when empty) by the staging rows."""
    where, params = _where(table, scope or {})
    conn.execute(text(f"DELETE FROM {_qualified(table)}{where}"), params)
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    result = conn.execute(text(f'INSERT INTO {_qualified(table)} ({columns}) SELECT {columns} FROM "{staging}"'))
    return result.rowcount
