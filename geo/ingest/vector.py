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


REPAIR_TOLERANCE = 0.01  # a repair may change a polygon's area by this share at most; more is a rejection


def to_multipolygons(
    geoms: gpd.GeoSeries, srid: int, row_numbers: np.ndarray
) -> tuple[gpd.GeoSeries, int, list[Problem]]:
    """Project to ``srid``, repair invalid rings with make_valid, keep polygonal parts as MultiPolygons.

    Returns the geometries, how many were repaired, and a problem for each row without a usable polygon, with
    coordinates that are not finite numbers, or whose repair would change its area by more than
    ``REPAIR_TOLERANCE`` (a self-intersecting outline "repaired" into another shape is not the municipality).
    """
    projected = geoms.to_crs(epsg=srid)
    values = np.asarray(projected.values, dtype=object)
    missing = shapely.is_missing(values)
    coordinates = [shapely.get_coordinates(g) if g is not None else np.zeros((0, 2)) for g in values]
    infinite = np.array([not np.isfinite(c).all() for c in coordinates])
    problems = [
        Problem("coordinates are not finite numbers (outside the CRS's range?)", row=int(row_numbers[i]))
        for i in np.flatnonzero(infinite)
    ]
    invalid = ~missing & ~infinite & ~shapely.is_valid(values)
    before = np.array([_outline_area(g) for g in values[invalid]])
    values[invalid] = shapely.make_valid(values[invalid])
    after = shapely.area(values[invalid])
    changed = np.abs(after - before) > REPAIR_TOLERANCE * np.maximum(before, 1e-9)
    problems += [
        Problem(
            f"invalid outline: repairing it would change its area from {b / 1e6:,.3f} to {a / 1e6:,.3f} km²",
            row=int(row_numbers[i]),
        )
        for i, b, a in zip(np.flatnonzero(invalid)[changed], before[changed], after[changed], strict=True)
    ]
    values[infinite] = None
    polygonal = np.array(
        [None if g is None else _polygonal_part(g) for g in values],
        dtype=object,
    )
    problems += [
        Problem("no polygon geometry (empty, missing or not polygonal)", row=int(row_numbers[i]))
        for i in np.flatnonzero((shapely.is_missing(polygonal) | shapely.is_empty(polygonal)) & ~infinite)
    ]
    return gpd.GeoSeries(polygonal, index=geoms.index, crs=srid), int(invalid.sum()), problems


def _outline_area(geom: shapely.Geometry) -> float:
    """The area its rings enclose as drawn (exterior less holes, by the shoelace formula), whatever its validity."""
    total = 0.0
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.Polygon):
            total += abs(shapely.Polygon(part.exterior).area) - sum(
                abs(shapely.Polygon(ring).area) for ring in part.interiors
            )
    return total


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    if shapely.is_empty(geom):
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
