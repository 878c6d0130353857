"""Spatial values sent by clients (``bbox`` and CQL2 geometry literals) as geometries in the working CRS.

A value is checked in Python before it reaches the store: coordinates must be finite and, in a geographic CRS,
within ±180/±90; shapes must be well formed. It is then clipped to the region where the working CRS is
meaningful (a world-wide box transformed to UTM 32N is a degenerate polygon that matches the wrong features),
which changes no answer because every stored feature lies inside that region. Edges are densified so that a
straight edge in the client's CRS stays straight after the transformation, with a bounded number of vertices.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import shapely
from pyproj import Transformer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import LargeBinary, bindparam, func
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from api.ogc.errors import bad_request
from geo.crs import SERVICE_REGION_LONLAT, CrsInfo
from geo.models import WORKING_SRID

MAX_VERTICES_PER_EDGE = 64


@lru_cache
def _region(crs: CrsInfo) -> BaseGeometry:
    """The service region in ``crs`` coordinates, in that CRS's axis order."""
    if crs.srid == 4326:
        west, south, east, north = SERVICE_REGION_LONLAT
    else:
        transformer = Transformer.from_crs(4326, crs.srid, always_xy=True)
        west, south, east, north = transformer.transform_bounds(*SERVICE_REGION_LONLAT, densify_pts=64)
    if crs.northing_first:
        west, south, east, north = south, west, north, east
    return box(west, south, east, north)


def _check_coordinates(geometry: BaseGeometry, crs: CrsInfo, parameter: str) -> None:
    coordinates = shapely.get_coordinates(geometry)
    if not all(math.isfinite(v) for v in coordinates.flat):
        raise bad_request(parameter, "coordinates must be finite numbers")
    if crs.srid == 4326 and len(coordinates):
        longitudes, latitudes = (coordinates[:, 1], coordinates[:, 0]) if crs.northing_first else coordinates.T
        if abs(longitudes).max() > 180 or abs(latitudes).max() > 90:
            raise bad_request(parameter, "longitudes must lie within ±180 and latitudes within ±90 degrees")


def working_ewkb(geometry: BaseGeometry, crs: CrsInfo, parameter: str) -> bytes:
    """A checked geometry in ``crs``, clipped to the service region and densified, as EWKB in ``crs`` (x, y order)."""
    _check_coordinates(geometry, crs, parameter)
    region = _region(crs)
    if not region.contains(geometry):
        geometry = geometry.intersection(region)  # empty when wholly outside: intersects nothing, disjoint from all
    minx, miny, maxx, maxy = geometry.bounds
    step = max(maxx - minx, maxy - miny) / MAX_VERTICES_PER_EDGE
    if step > 0:
        geometry = shapely.segmentize(geometry, step)
    if crs.northing_first:
        geometry = shapely.transform(geometry, lambda xy: xy[:, ::-1])
    # the SRID travels inside the EWKB value: GeoAlchemy2 inlines ST_GeomFromWKB's SRID argument into the SQL
    # text, which SQLAlchemy then caches and reuses for requests in other CRSs
    return bytes(shapely.to_wkb(shapely.set_srid(geometry, crs.srid), include_srid=True))


def in_working(value: BindParameter[bytes]) -> ColumnElement:
    """An EWKB value (``working_ewkb``) transformed to the working CRS in SQL."""
    return func.ST_Transform(func.ST_GeomFromEWKB(value), WORKING_SRID)


def to_working(geometry: BaseGeometry, crs: CrsInfo, parameter: str) -> ColumnElement:
    """A checked geometry in ``crs`` as a bound EWKB value transformed to the working CRS."""
    return in_working(bindparam(None, working_ewkb(geometry, crs, parameter), type_=LargeBinary))


def envelope_ewkb(minx: float, miny: float, maxx: float, maxy: float, crs: CrsInfo, parameter: str) -> bytes:
    """A box given in ``crs`` axis order, checked, as ``working_ewkb``."""
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise bad_request(parameter, "coordinates must be finite numbers")
    if minx > maxx or miny > maxy:
        raise bad_request(parameter, "the lower corner must come before the upper corner")
    return working_ewkb(box(minx, miny, maxx, maxy), crs, parameter)


def envelope(minx: float, miny: float, maxx: float, maxy: float, crs: CrsInfo, parameter: str) -> ColumnElement:
    """A box given in ``crs`` axis order."""
    value = envelope_ewkb(minx, miny, maxx, maxy, crs, parameter)
    return in_working(bindparam(None, value, type_=LargeBinary))


def _check_rings(value: dict[str, Any]) -> None:
    """Polygon rings must be closed (GeoJSON, CQL2); shapely would close them silently."""
    kind = value.get("type")
    polygons = [value.get("coordinates")] if kind == "Polygon" else value.get("coordinates") or []
    if kind not in ("Polygon", "MultiPolygon"):
        polygons = []
    for polygon in polygons:
        for ring in polygon or []:
            if len(ring) < 4 or list(ring[0]) != list(ring[-1]):
                raise ValueError("a polygon ring must be closed (its last point repeats the first) and have 4 points")


def geojson(value: dict[str, Any], crs: CrsInfo, parameter: str) -> ColumnElement:
    """A GeoJSON geometry (as CQL2 parsers give WKT and JSON literals) given in ``crs`` axis order."""
    try:
        _check_rings(value)
        geometry = shape(value)
        if not geometry.is_valid and geometry.geom_type.endswith("Polygon"):
            geometry = shapely.make_valid(geometry)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        raise bad_request(parameter, f"malformed geometry: {exc}") from exc
    if geometry.is_empty:
        raise bad_request(parameter, "empty geometry")
    return to_working(geometry, crs, parameter)
