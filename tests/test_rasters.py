"""Raster grids in any CRS, summarised per municipality by the fraction of each cell covered."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from geo.ingest import rasters
from geo.ingest.pipeline import IngestError
from tests.raster_fixture import write_constant

DENSITY = 100.0  # value per cell


def _municipalities(store, province):
    with store.engine.connect() as conn:
        return gpd.read_postgis(
            text("SELECT pro_com_t, geom FROM ref.comune WHERE cod_uts = :p"),
            conn,
            geom_col="geom",
            params={"p": province},
        )


def _zonal(store, name):
    with store.engine.connect() as conn:
        return dict(
            conn.execute(text("SELECT pro_com_t, sum FROM cov.raster_zonal WHERE raster = :r"), {"r": name}).all()
        )


@pytest.mark.parametrize(("epsg", "cell"), [(3035, 1000.0), (4326, 1 / 120), (32632, 250.0)])
def test_sums_equal_density_times_covered_area(area_vasta, tmp_path, epsg, cell):
    comuni = _municipalities(area_vasta, "019").to_crs(epsg)
    west, south, east, north = comuni.total_bounds
    margin = 4 * cell
    path = write_constant(
        tmp_path / f"grid_{epsg}.tif",
        (west - margin, south - margin, east + margin, north + margin),
        cell,
        DENSITY,
        epsg,
    )
    raster = rasters.read(path)
    assert (raster.meta["epsg"], raster.meta["res_x"], raster.meta["nodata"]) == (epsg, pytest.approx(cell), -200.0)
    # the test writes to a database shared by the module: give each grid its own name
    rasters.ingest(area_vasta.engine, raster)
    sums = _zonal(area_vasta, raster.name)
    # planar area in the raster's own units (degrees² for EPSG:4326): what the cells divide
    expected = pd.Series(shapely.area(comuni.geometry.values), index=comuni["pro_com_t"]) / cell**2 * DENSITY
    for code, value in expected.items():
        assert sums[code] == pytest.approx(value, rel=1e-5), code


def test_nodata_cells_count_for_nothing(area_vasta, tmp_path):
    comuni = _municipalities(area_vasta, "019").to_crs(3035)
    west, south, east, north = comuni.total_bounds
    path = write_constant(
        tmp_path / "holed.tif",
        (west - 5000, south - 5000, east + 5000, north + 5000),
        1000.0,
        DENSITY,
        3035,
        hole=(slice(None), slice(None)),
    )
    with pytest.raises(IngestError, match="does not overlap any loaded municipality"):
        rasters.ingest(area_vasta.engine, rasters.read(path))


def test_raster_without_crs_is_refused(tmp_path):
    path = write_constant(tmp_path / "nocrs.tif", (0, 0, 10, 10), 1.0, 1.0, None)
    with pytest.raises(IngestError, match="unknown CRS"):
        rasters.read(path)


def test_truncated_raster_is_refused(tmp_path):
    good = write_constant(tmp_path / "good.tif", (500_000, 5_000_000, 510_000, 5_010_000), 100.0, 1.0, 32632)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(IngestError, match="not a readable raster"):
        rasters.read(cut)
