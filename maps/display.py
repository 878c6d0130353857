"""Generalisation for display: how far geometries are simplified, how many decimals are written and how Leaflet
draws them, chosen from the extent a map opens on.

A map opens fitted to its data, so a vertex closer than a screen pixel at that zoom is wasted bytes: the tolerance
grows with the extent (60 m for the four provinces, about 650 m for all of Italy) and the page weight stays bounded
whatever the territory. Zooming in on a municipality is what ``/maps/municipality/{code}`` is for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import folium
from pyproj import Transformer
from sqlalchemy import Connection, text

MIN_TOLERANCE_M = 60.0  # finer is invisible at the zoom a province map opens at
SCREEN_PX = 2000  # a wide screen at the zoom the map opens at
CANVAS_FROM = 2000  # features: beyond this one canvas pans smoothly where thousands of SVG paths do not
TILES_FROM = 2000  # features: beyond this a choropleth comes as vector tiles, not as GeoJSON in the page
METRES_PER_DEGREE = 111_320.0
DECIMAL_STEPS_PER_TOLERANCE = 10  # a written coordinate step well below the tolerance keeps shapes intact


@dataclass(frozen=True)
class Display:
    """How a map of one extent is drawn: bounds to open on ([[south, west], [north, east]] in degrees),
    simplification tolerance in metres, decimals of written coordinates and whether to draw on a canvas."""

    bounds: list[list[float]] | None
    tolerance_m: float
    decimals: int
    canvas: bool
    features: int = 0
    extent: tuple[float, float, float, float] | None = None
    srid: int | None = None

    def fit(self, m: folium.Map) -> None:
        """Open ``m`` on this extent (when known)."""
        if self.bounds is not None:
            m.fit_bounds(self.bounds)

    @property
    def params(self) -> dict[str, float | int | None]:
        """Bind parameters for queries that simplify and write geometries (``:tolerance``, ``:decimals``) and
        select what lies in the extent (``:xmin`` … ``:ymax``, ``:srid``; NULL when unknown)."""
        xmin, ymin, xmax, ymax = self.extent or (None, None, None, None)
        return {
            "tolerance": self.tolerance_m,
            "decimals": self.decimals,
            "xmin": xmin,
            "ymin": ymin,
            "xmax": xmax,
            "ymax": ymax,
            "srid": self.srid,
        }


def display_for(extent: tuple[float, float, float, float] | None, features: int, srid: int) -> Display:
    """The display of ``features`` geometries spanning ``extent`` (xmin, ymin, xmax, ymax in metric ``srid``)."""
    if extent is None or any(v is None for v in extent):
        return Display(None, MIN_TOLERANCE_M, decimals_for(MIN_TOLERANCE_M), features >= CANVAS_FROM, features)
    xmin, ymin, xmax, ymax = extent
    tolerance = max(MIN_TOLERANCE_M, max(xmax - xmin, ymax - ymin) / SCREEN_PX)
    to_degrees = Transformer.from_crs(srid, 4326, always_xy=True)
    west, south, east, north = to_degrees.transform_bounds(xmin, ymin, xmax, ymax)
    decimals = decimals_for(tolerance)
    bounds = [[round(south, decimals), round(west, decimals)], [round(north, decimals), round(east, decimals)]]
    return Display(bounds, tolerance, decimals, features >= CANVAS_FROM, features, extent, srid)


def decimals_for(tolerance_m: float) -> int:
    """The fewest decimal degrees whose step is at most a tenth of the tolerance."""
    return math.ceil(math.log10(METRES_PER_DEGREE * DECIMAL_STEPS_PER_TOLERANCE / tolerance_m))


def measure(conn: Connection, query: str, params: dict[str, object] | None = None) -> Display:
    """The display of the geometries ``query`` selects (it names them ``geom``), from their extent and count."""
    row = conn.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), n, srid FROM (SELECT ST_Extent(geom) AS e, "
            f"count(*) AS n, max(ST_SRID(geom)) AS srid FROM ({query}) q) s"
        ),
        params or {},
    ).one()
    extent = None if row[0] is None else (row[0], row[1], row[2], row[3])
    return display_for(extent, int(row[4]), row[5] or 4326)
