"""Zonal statistics that combine two grids: population-weighted coverage per municipality."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio
from exactextract import exact_extract


def weighted_coverage(coverage: Path, population: Path, comuni: gpd.GeoDataFrame) -> pd.DataFrame:
    """Population-weighted coverage per municipality: Σ(cover × population × fraction) over Σ(population × fraction).

    ``coverage`` holds the covered share of each cell (0–1); both grids must share their cell layout.
    """
    with rasterio.open(population) as src:
        polygons = comuni.to_crs(src.crs.to_wkt())
    covered = exact_extract(
        str(coverage),
        polygons,
        ["weighted_sum"],
        weights=str(population),
        include_cols=["pro_com_t"],
        output="pandas",
    )
    people = exact_extract(str(population), polygons, ["sum"], include_cols=["pro_com_t"], output="pandas")
    stats = people.rename(columns={"sum": "population"}).merge(
        covered.rename(columns={"weighted_sum": "population_covered"}), on="pro_com_t"
    )
    stats = stats.fillna(0.0)
    stats["population_uncovered"] = stats["population"] - stats["population_covered"]
    stats["covered_share"] = (stats["population_covered"] / stats["population"]).where(stats["population"] > 0)
    return stats[stats["population"] > 0].reset_index(drop=True)
