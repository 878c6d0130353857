"""Raster grids (GHSL, Eurostat 1 km, AGCOM 100 m…) as GeoTIFF in any CRS, summarised per municipality.

Each cell counts by the fraction of it that lies inside the municipality (exactextract), never by
"all touched" counting. The municipal polygons are projected to the raster's CRS, not the other way round,
so that cell values are never resampled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from exactextract import exact_extract
from rasterio.errors import RasterioIOError
from sqlalchemy import Connection, Engine, text

from geo.ingest.layers import RASTER, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, run_ingest
from geo.models import Raster, RasterZonal

LAYER = RASTER.name
KINDS = ("population", "coverage")


@dataclass
class RasterFile:
    """A raster file: its name, kind (population or coverage), metadata (CRS, size, resolution, nodata, total) and
    source."""

    path: Path
    name: str
    kind: str
    meta: dict[str, Any]
    source: Source


def read(path: Path, kind: str = "population", name: str | None = None) -> RasterFile:
    """Open a GeoTIFF and read what the store records of it; its CRS must be declared."""
    label = str(path)
    if kind not in KINDS:
        raise IngestError(label, [Problem(f"kind must be one of {KINDS}, not {kind!r}")])
    if not path.exists():
        raise IngestError(label, [Problem("no such file")])
    try:
        with rasterio.open(path) as src:
            crs = src.crs
            meta = {
                "crs_wkt": crs.to_wkt() if crs else None,
                "epsg": crs.to_epsg() if crs else None,
                "res_x": float(src.res[0]),
                "res_y": float(src.res[1]),
                "width": int(src.width),
                "height": int(src.height),
                "nodata": None if src.nodata is None else float(src.nodata),
            }
            band = src.read(1, masked=True)
    except RasterioIOError as exc:
        raise IngestError(label, [Problem(f"not a readable raster (truncated?): {exc}")]) from exc
    if crs is None:
        raise IngestError(label, [Problem("unknown CRS: the raster declares none, so its cells cannot be placed")])
    meta["total"] = float(band.sum()) if band.count() else 0.0
    stem = name or re.sub(r"\.tiff?$", "", path.name, flags=re.IGNORECASE)
    return RasterFile(path, stem, kind, meta, Source.from_path(path))


def zonal(raster: RasterFile, comuni: gpd.GeoDataFrame) -> pd.DataFrame:
    """Coverage-weighted sum, mean and cell count of the raster over each municipality."""
    polygons = comuni.to_crs(raster.meta["crs_wkt"])
    stats = exact_extract(
        str(raster.path), polygons, ["sum", "mean", "count"], include_cols=["pro_com_t"], output="pandas"
    )
    stats = stats.rename(columns={"count": "cells"})
    stats["sum"] = stats["sum"].fillna(0.0)
    stats["cells"] = stats["cells"].fillna(0.0)
    stats["mean"] = stats["mean"].where(stats["cells"] > 0)
    return stats[stats["cells"] > 0][["pro_com_t", "sum", "mean", "cells"]].reset_index(drop=True)


def ingest(engine: Engine, raster: RasterFile) -> IngestResult:
    """Record the raster and replace its per-municipality statistics in one transaction."""

    def _prepare(conn: Connection) -> Prepared:
        comuni = gpd.read_postgis(text("SELECT pro_com_t, geom FROM ref.comune"), conn, geom_col="geom")
        if comuni.empty:
            raise IngestError(str(raster.path), [Problem("no municipalities loaded: ingest the boundaries first")])
        stats = zonal(raster, comuni)
        if stats.empty:
            raise IngestError(str(raster.path), [Problem("the raster does not overlap any loaded municipality")])
        record = pd.DataFrame([{"name": raster.name, "kind": raster.kind, "path": str(raster.path), **raster.meta}])
        return Prepared(
            loads=[
                TableLoad(Raster.__table__, record, scope={"name": raster.name}, counted=False),
                TableLoad(RasterZonal.__table__, stats.assign(raster=raster.name), scope={"raster": raster.name}),
            ],
            rows_read=int(raster.meta["width"] * raster.meta["height"]),
            details={
                "crs": raster.meta["epsg"] or "custom",
                "resolution": [raster.meta["res_x"], raster.meta["res_y"]],
                "nodata": raster.meta["nodata"],
                "raster_total": raster.meta["total"],
                "total_in_municipalities": float(np.round(stats["sum"].sum(), 6)),
            },
        )

    return run_ingest(engine, f"{LAYER}:{raster.name}", raster.source, _prepare)


def load(engine: Engine, path: Path, _context: Context) -> IngestResult:
    """One GeoTIFF (a population grid unless told otherwise), as ``ingest all`` loads it."""
    return ingest(engine, read(path))
