"""Point layers with coordinates: OSM settlements and geocoded schools."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, text

from geo.ingest.fields import loaded_municipalities, municipality_codes, pick_column
from geo.ingest.layers import GEOCODED_SCHOOLS as GEOCODED_RECORD
from geo.ingest.layers import SETTLEMENTS as SETTLEMENTS_RECORD
from geo.ingest.layers import Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, flag, run_ingest
from geo.ingest.vector import read_vector
from geo.models import SCHOOL_CODE_PATTERN, GeocodedSchool, Settlement

SETTLEMENTS = SETTLEMENTS_RECORD.name
GEOCODED_SCHOOLS = GEOCODED_RECORD.name


def _points(frame: gpd.GeoDataFrame, label: str, srid: int) -> np.ndarray:
    """Projected point geometries; a problem for each row that has none, or whose coordinates are not finite once
    projected (a longitude of 500 becomes infinity, which no page can write as JSON)."""
    geoms = np.asarray(frame.geometry.to_crs(epsg=srid).values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    bad = shapely.is_missing(geoms) | (kinds != shapely.GeometryType.POINT) | shapely.is_empty(geoms)
    problems = [Problem("not a point geometry", row=int(i) + 1) for i in np.flatnonzero(bad)]
    x, y = shapely.get_x(geoms[~bad]), shapely.get_y(geoms[~bad])
    infinite = np.flatnonzero(~bad)[~(np.isfinite(x) & np.isfinite(y))]
    problems += [Problem("coordinates outside the CRS's range (not finite)", row=int(i) + 1) for i in infinite]
    if problems:
        raise IngestError(label, sorted(problems, key=lambda p: p.row or 0))
    return geoms


def ingest_settlements(engine: Engine, path: Path, provinces: tuple[str, ...] | None, srid: int) -> IngestResult:
    """Inhabited places (``pro_com_t``/``pro_com``, ``name``, ``place``) of the configured provinces; places of
    municipalities not in the loaded boundaries are left out (the pipeline's policy decides on them)."""
    label = str(path)
    frame = read_vector(label, label=label)
    code = pick_column(frame, ("pro_com_t", "com_istat_code", "pro_com"))
    name = pick_column(frame, ("name", "nome"))
    place = pick_column(frame, ("place", "tipo"))
    if code is None or name is None or place is None:
        raise IngestError(label, [Problem(f"wrong header: needs pro_com_t, name, place; found {list(frame.columns)}")])

    def _prepare(conn: Connection) -> Prepared:
        rows = gpd.GeoDataFrame(
            {"_row": np.arange(1, len(frame) + 1), "code": frame[code], "name": frame[name], "place": frame[place]},
            geometry=_points(frame, label, srid),
            crs=srid,
        ).rename_geometry("geom")
        known = loaded_municipalities(conn, label)
        rows, problems, unknown = municipality_codes(rows, "code", provinces, known, code)
        rows = rows.rename(columns={"_row": "id"}).drop(columns="code")
        if problems:
            raise IngestError(label, problems + unknown)
        return Prepared(
            loads=[TableLoad(Settlement.__table__, rows)],
            rows_read=len(frame),
            rejected=unknown,
            details={"by_place": {k: int(v) for k, v in rows["place"].value_counts().sort_index().items()}},
        )

    return run_ingest(engine, SETTLEMENTS, Source.from_path(path), _prepare)


def _locate_in_municipality(conn: Connection, staging: str) -> None:
    conn.execute(
        text(f'UPDATE "{staging}" s SET pro_com_t = c.pro_com_t FROM ref.comune c WHERE ST_Intersects(c.geom, s.geom)')
    )


def ingest_geocoded_schools(engine: Engine, path: Path, srid: int) -> IngestResult:
    """School points (``CODICESCUOLA`` + point geometry); each is placed in the municipality that contains it."""
    label = str(path)
    frame = read_vector(label, label=label)
    code = pick_column(frame, ("codicescuola", "codice_scuola", "codice"))
    if code is None:
        raise IngestError(label, [Problem(f"wrong header: needs CODICESCUOLA; found {list(frame.columns)}")])
    address = pick_column(frame, ("indirizzo", "indirizzoscuola", "address"))

    def _prepare(_conn: Connection) -> Prepared:
        codes = frame[code].astype(str).str.strip().str.upper()
        numbers = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
        problems = flag(
            ~codes.str.match(SCHOOL_CODE_PATTERN), numbers, codes, "school code {value!r} is malformed", code
        )
        problems += flag(codes.duplicated(), numbers, codes, "duplicate school code {value}", code)
        if problems:
            raise IngestError(label, problems)
        rows = gpd.GeoDataFrame(
            {"codicescuola": codes, "indirizzo": frame[address] if address else None, "pro_com_t": None},
            geometry=_points(frame, label, srid),
            crs=srid,
        ).rename_geometry("geom")
        return Prepared(
            loads=[TableLoad(GeocodedSchool.__table__, rows, after_staging=_locate_in_municipality)],
            rows_read=len(frame),
        )

    return run_ingest(engine, GEOCODED_SCHOOLS, Source.from_path(path), _prepare)


def load_settlements(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One file of settlements, as ``ingest all`` loads it."""
    return ingest_settlements(engine, path, context.provinces, context.srid)


def load_geocoded_schools(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One file of geocoded schools, as ``ingest all`` loads it."""
    return ingest_geocoded_schools(engine, path, context.srid)
