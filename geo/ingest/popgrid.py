"""The Eurostat Census 2021 population grid (GEOSTAT, 1 km): one row per populated cell, with the cell square
rebuilt from its INSPIRE id (``CRS3035RES1000mN2428000E4350000``) in EPSG:3035 and stored in the working CRS.

Only cells that touch a loaded municipality are kept. The official CSV (``ESTAT_Census_2021_V2.csv``) and the
derived per-area copy share the columns read here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo.ingest.layers import POPGRID, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, flag, run_ingest
from geo.ingest.tabular import parse_numbers, read_table
from geo.models import WORKING_SRID, PopulationCell

LAYER = POPGRID.name
GRID_CRS = 3035
CENSUS_DATE = dt.date(2021, 1, 1)
GRID_ID = re.compile(r"^CRS3035RES(?P<res>\d+)mN(?P<n>\d+)E(?P<e>\d+)$")
COLUMNS = {
    "grd_id": ("GRD_ID",),
    "population": ("T", "OBS_VALUE_T", "TOT_P"),
    "age_lt15": ("Y_LT15",),
    "age_1564": ("Y_1564",),
    "age_ge65": ("Y_GE65",),
    "employed": ("EMP",),
    "land_share": ("LAND_SURFACE",),
    "confidential": ("T_CI",),
}
COUNTS = ("population", "age_lt15", "age_1564", "age_ge65", "employed")


def _cells(ids: pd.Series, rows: pd.Series, label: str) -> tuple[np.ndarray, np.ndarray]:
    parts = ids.str.extract(GRID_ID)
    bad = parts["res"].isna()
    problems = flag(bad, rows, ids, "grid cell id {value!r} is not CRS3035RES<m>mN<y>E<x>", "GRD_ID")
    problems += flag(ids.duplicated() & ~bad, rows, ids, "duplicate grid cell {value}", "GRD_ID")
    if problems:
        raise IngestError(label, problems)
    res, north, east = (parts[c].astype(np.int64).to_numpy() for c in ("res", "n", "e"))
    return shapely.box(east, north, east + res, north + res), res


def ingest(engine: Engine, path: Path) -> IngestResult:
    """Load the grid cells that touch the loaded municipalities; every count checked row by row."""
    table = read_table(path, COLUMNS, ("grd_id", "population"))
    frame = table.frame
    squares, res = _cells(frame["grd_id"], frame["_row"], table.label)
    problems: list[Problem] = []
    values: dict[str, pd.Series] = {}
    for column in (*COUNTS, "land_share", "confidential"):
        if column not in frame:
            continue
        numbers, found = parse_numbers(
            frame[column], frame["_row"], column, table.decimal, integer=column != "land_share"
        )
        values[column] = numbers
        problems += found
    problems += flag(values["population"].isna(), frame["_row"], frame["grd_id"], "cell {value} has no population")
    if "land_share" in values:
        over = values["land_share"] > 1
        problems += flag(over, frame["_row"], values["land_share"], "land share {value} above 1", "LAND_SURFACE")
    if problems:
        raise IngestError(table.label, problems)
    cells = gpd.GeoDataFrame(
        {
            "grd_id": frame["grd_id"].to_numpy(),
            "res_m": res,
            **{c: values[c].astype("Int64") if c in values else pd.NA for c in COUNTS},
            "land_share": values.get("land_share", pd.Series(np.nan, index=frame.index)).to_numpy(),
            "confidential": values.get("confidential", pd.Series(0, index=frame.index)).fillna(0).to_numpy() > 0,
            "ref_date": CENSUS_DATE,
        },
        geometry=gpd.GeoSeries(squares, crs=GRID_CRS).to_crs(WORKING_SRID).to_numpy(),
        crs=WORKING_SRID,
    ).rename_geometry("geom")

    def _prepare(conn: Connection) -> Prepared:
        area = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM ref.province")).scalar()
        if area is None:
            raise IngestError(table.label, [Problem("no boundaries loaded: the grid is kept where it meets them")])
        inside = cells[cells.intersects(shapely.from_wkb(bytes(area)))]
        if inside.empty:
            raise IngestError(table.label, [Problem("no grid cell meets the loaded municipalities")])
        return Prepared(
            loads=[TableLoad(PopulationCell.__table__, inside.reset_index(drop=True))],
            rows_read=len(frame),
            reference_date=CENSUS_DATE,
            details={
                "population_in_cells": int(inside["population"].sum()),
                "cells_outside_area": len(cells) - len(inside),
                "confidential_cells": int(inside["confidential"].sum()),
            },
        )

    return run_ingest(engine, LAYER, Source.from_path(path), _prepare)


def load(engine: Engine, path: Path, _context: Context) -> IngestResult:
    """One grid file, as ``ingest all`` loads it."""
    return ingest(engine, path)
