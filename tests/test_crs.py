import pytest
from pyproj import CRS

from geo.crs import CRS84_URI, crs_info, require_known


@pytest.mark.parametrize(
    ("code", "northing_first"),
    [(None, False), (4326, True), (32632, False), (6707, True), (7791, False), (3003, False), (3035, True)],
)
def test_axis_order_comes_from_the_definition(code, northing_first):
    info = crs_info(code)
    assert info.northing_first is northing_first
    assert info.uri == (CRS84_URI if code is None else f"http://www.opengis.net/def/crs/EPSG/0/{code}")


def test_unknown_crs_is_named():
    with pytest.raises(ValueError, match=r"file\.shp: unknown CRS"):
        require_known(None, "file.shp")
    assert require_known(CRS.from_epsg(32632), "x").to_epsg() == 32632
