"""CRS parameters of OGC API - Features Part 2: the supported list, parsing URIs, and axis order."""

from __future__ import annotations

import re

from api.ogc.errors import bad_request
from geo.crs import CRS84_URI, CrsInfo, crs_info

SUPPORTED_EPSG = (4326, 32632, 6707, 7791, 3003, 3035, 25832)


def supported_uris() -> list[str]:
    """The URIs of the output CRSs served: CRS84 first, then the supported EPSG codes."""
    return [CRS84_URI, *(crs_info(code).uri for code in SUPPORTED_EPSG)]


def parse(value: str | None, parameter: str) -> CrsInfo:
    """The registry entry for a CRS URI (CRS84 when absent); 400 naming the parameter otherwise."""
    if value is None or value in (CRS84_URI, "CRS84", "OGC:CRS84"):
        return crs_info(None)
    match = re.fullmatch(r"(?:http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:|urn:ogc:def:crs:EPSG::)(\d+)", value)
    if match is None or int(match.group(1)) not in SUPPORTED_EPSG:
        raise bad_request(parameter, f"unsupported CRS {value!r}; supported: {', '.join(supported_uris())}")
    return crs_info(int(match.group(1)))
