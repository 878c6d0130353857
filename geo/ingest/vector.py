"""Reading vector files (Shapefile, GeoJSON, GeoPackage, zipped archives) into the working CRS, with clear errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from geo.crs import require_known
from geo.ingest.pipeline import IngestError, Problem


def read_vector(location: str, *, layer: str | None = None, label: str | None = None) -> gpd.GeoDataFrame:
    """Read ``location`` (a path or GDAL ``/vsizip/`` path); errors name the file and the problem."""
    label = label or location
    try:
        frame = pyogrio.read_dataframe(location, layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        raise IngestError(label, [Problem(f"cannot read the file (truncated or not a vector format?): {exc}")]) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise IngestError(label, [Problem("the file has no geometry column")])
    if len(frame) == 0:
        raise IngestError(label, [Problem("the file holds no features")])
    try:
        require_known(frame.crs, label)
    except ValueError as exc:
        raise IngestError(label, [Problem(str(exc))]) from exc
    return frame


def to_multipolygons(
    geoms: gpd.GeoSeries, srid: int, row_numbers: np.ndarray
) -> tuple[gpd.GeoSeries, int, list[Problem]]:
    """Project to ``srid``, repair invalid rings with make_valid, keep polygonal parts as MultiPolygons.

    Returns the geometries, how many were repaired, and a problem for each row without a usable polygon.
    """
    projected = geoms.to_crs(epsg=srid)
    values = np.asarray(projected.values, dtype=object)
    missing = shapely.is_missing(values)
    invalid = ~missing & ~shapely.is_valid(values)
    values[invalid] = shapely.make_valid(values[invalid])
    polygonal = np.array(
        [None if g is None else _polygonal_part(g) for g in values],
        dtype=object,
    )
    problems = [
        Problem("no polygon geometry (empty, missing or not polygonal)", row=int(row_numbers[i]))
        for i in np.flatnonzero(shapely.is_missing(polygonal) | shapely.is_empty(polygonal))
    ]
    return gpd.GeoSeries(polygonal, index=geoms.index, crs=srid), int(invalid.sum()), problems


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    if geom.is_empty:
        return None
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    if not parts:
        return None
    polys = [q for p in parts for q in (p.geoms if isinstance(p, shapely.MultiPolygon) else [p])]
    return shapely.MultiPolygon(polys)
