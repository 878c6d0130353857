"""Bulk loading with COPY, staging tables, and content hashes of table contents."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import Connection, Table, text

# Columns that record where a row came from, not what it says: left out of content hashes.
PROVENANCE_COLUMNS = frozenset({"ingest_run_id"})

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


def copy_frame(conn: Connection, target: str, table: Table, frame: pd.DataFrame) -> int:
    """COPY ``frame`` (columns named as in ``table``) into ``target``; returns the row count."""
    columns = [c.name for c in table.columns if c.name in frame.columns]
    geometry = _geometry_columns(table)
    column_list = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{target}" ({column_list}) FROM STDIN') as copy:
        for row in _rows(frame, columns, geometry):
            copy.write_row(row)
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


def swap(conn: Connection, staging: str, table: Table, scope: Scope | None = None) -> int:
    """Replace the live rows of ``table`` in ``scope`` (all when empty) by the staging rows."""
    where, params = _where(table, scope or {})
    conn.execute(text(f"DELETE FROM {_qualified(table)}{where}"), params)
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    result = conn.execute(text(f'INSERT INTO {_qualified(table)} ({columns}) SELECT {columns} FROM "{staging}"'))
    return result.rowcount
