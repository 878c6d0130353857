"""COPY of frames: the CSV fast path and the row-by-row path store exactly the same values."""

import datetime as dt
import math

import pandas as pd
import shapely
from geoalchemy2 import Geometry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, MetaData, Table, Text, text

from geo.db import bulk

TABLE = Table(
    "copy_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("label", Text),
    Column("share", Float),
    Column("count", Integer),
    Column("flag", Boolean),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
    Column("geom", Geometry("POINT", srid=32632)),
)
texts = st.one_of(st.none(), st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00")))
floats = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64))
counts = st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1))
rows = st.lists(st.tuples(texts, floats, counts, st.one_of(st.none(), st.booleans())), min_size=1, max_size=30)


def _load(conn, frame, *, fast: bool):
    conn.execute(text("DROP TABLE IF EXISTS copy_probe"))
    conn.execute(
        text(
            "CREATE TEMP TABLE copy_probe (id integer, label text, share float8, count integer, flag boolean, "
            "day date, at timestamptz, geom geometry(Point, 32632))"
        )
    )
    if not fast:  # a list column sends the frame down the row-by-row path
        frame = frame.assign(_extra=[[1]] * len(frame))
    bulk.copy_frame(conn, "copy_probe", TABLE, frame)
    stored = conn.execute(
        text("SELECT id, label, share, count, flag, day, at, ST_AsText(geom) FROM copy_probe ORDER BY id")
    ).all()
    return [tuple(row) for row in stored]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_csv_and_row_paths_store_the_same_values(store, values):
    frame = pd.DataFrame(
        {
            "id": range(len(values)),
            "label": pd.Series([v[0] for v in values], dtype=object),
            "share": [math.nan if v[1] is None else v[1] for v in values],
            "count": pd.array([v[2] for v in values], dtype="Int64"),
            "flag": pd.Series([v[3] for v in values], dtype=object),
            "day": dt.date(2025, 6, 30),
            "at": dt.datetime(2025, 6, 30, 12, 30, tzinfo=dt.UTC),
            "geom": shapely.points([(500_000.5 + i, 5_000_000.25) for i in range(len(values))]),
        }
    )
    assert bulk._as_csv_table(frame, list(frame.columns), {"geom": 32632}) is not None  # the fast path is taken
    with store.engine.begin() as conn:
        fast = _load(conn, frame, fast=True)
        slow = _load(conn, frame, fast=False)
    assert fast == slow
    assert [row[1] for row in fast] == [v[0] for v in values]  # '' stays '' and None stays NULL
    assert [row[2] for row in fast] == [v[1] for v in values]  # floats round-trip exactly


def test_the_null_marker_as_text_stays_text(store):
    frame = pd.DataFrame({"id": [1, 2], "label": [bulk.CSV_NULL, None]})
    assert bulk._as_csv_table(frame, ["id", "label"], {}) is not None
    with store.engine.begin() as conn:
        assert [row[1] for row in _load(conn, frame, fast=True)] == [bulk.CSV_NULL, None]
