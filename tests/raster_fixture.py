"""GeoTIFFs with known totals, written by rasterio over a given extent and CRS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine


def write_constant(
    path: Path,
    bounds: tuple[float, float, float, float],
    cell: float,
    value: float,
    epsg: int | None,
    nodata: float | None = -200.0,
    hole: tuple[slice, slice] | None = None,
) -> Path:
    """A single-band grid of ``value`` per cell over ``bounds`` (snapped outwards), with an optional nodata block."""
    west, south, east, north = bounds
    west, south = np.floor(west / cell) * cell, np.floor(south / cell) * cell
    east, north = np.ceil(east / cell) * cell, np.ceil(north / cell) * cell
    width, height = round((east - west) / cell), round((north - south) / cell)
    data = np.full((height, width), value, dtype="float32")
    if hole is not None:
        data[hole] = nodata
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=f"EPSG:{epsg}" if epsg else None,
        transform=Affine.translation(west, north) @ Affine.scale(cell, -cell),
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path
