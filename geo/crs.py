"""The CRS registry: working CRS, output CRS, their OGC URIs and axis order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Where the working CRS (UTM 32N, central meridian 9°E) is well defined: 15° either side of its zone, which holds
# all of Italy. Client geometries are clipped to it before they are transformed (lon_min, lat_min, lon_max, lat_max).
SERVICE_REGION_LONLAT = (-9.0, -10.0, 27.0, 84.0)


@dataclass(frozen=True)
class CrsInfo:
    """One CRS the service knows: its URI, EPSG code (None for CRS84) and whether its first axis is north."""

    uri: str
    epsg: int | None
    northing_first: bool

    @property
    def srid(self) -> int:
        """The PostGIS SRID holding this CRS's coordinates (CRS84 is EPSG:4326 in lon/lat order)."""
        return self.epsg or 4326


def epsg_uri(code: int) -> str:
    """The OGC URI of EPSG code ``code``."""
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@lru_cache
def crs_info(code: int | None) -> CrsInfo:
    """Registry entry for an EPSG code (``None`` = CRS84), axis order read from PROJ's definition."""
    if code is None:
        return CrsInfo(CRS84_URI, None, northing_first=False)
    crs = CRS.from_epsg(code)
    first = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return CrsInfo(epsg_uri(code), code, northing_first=first == "north")


def require_known(crs: CRS | None, where: str) -> CRS:
    """``crs`` if it is defined and convertible; raises ``ValueError`` naming ``where`` otherwise."""
    if crs is None:
        raise ValueError(f"{where}: unknown CRS (no .prj or CRS declaration); cannot place the geometries")
    try:
        crs.to_wkt()
    except Exception as exc:  # pyproj raises several types for broken definitions
        raise ValueError(f"{where}: unusable CRS definition: {exc}") from exc
    return crs
