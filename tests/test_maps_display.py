"""Generalisation for display: properties that keep every map light and faithful whatever its extent."""

from hypothesis import given
from hypothesis import strategies as st
from pyproj import Transformer

from maps.display import CANVAS_FROM, METRES_PER_DEGREE, MIN_TOLERANCE_M, display_for

# extents inside UTM 32N's useful area (Italy and around), in metres
x = st.floats(min_value=200_000, max_value=1_200_000)
y = st.floats(min_value=3_900_000, max_value=5_300_000)
span = st.floats(min_value=0, max_value=1_500_000)


@given(x, y, span, span, st.floats(min_value=1.0, max_value=4.0))
def test_tolerance_grows_with_the_extent_and_never_drops_below_the_floor(x0, y0, w, h, factor):
    small = display_for((x0, y0, x0 + w, y0 + h), 100, 32632)
    large = display_for((x0, y0, x0 + w * factor, y0 + h * factor), 100, 32632)
    assert MIN_TOLERANCE_M <= small.tolerance_m <= large.tolerance_m
    assert large.decimals <= small.decimals


@given(x, y, span, span)
def test_written_coordinates_are_finer_than_the_tolerance(x0, y0, w, h):
    display = display_for((x0, y0, x0 + w, y0 + h), 100, 32632)
    assert 10**-display.decimals * METRES_PER_DEGREE <= display.tolerance_m / 10
    assert 10 ** -(display.decimals - 1) * METRES_PER_DEGREE > display.tolerance_m / 10  # and no finer than needed


@given(x, y, span, span)
def test_the_map_opens_on_the_whole_extent(x0, y0, w, h):
    display = display_for((x0, y0, x0 + w, y0 + h), 100, 32632)
    (south, west), (north, east) = display.bounds
    to_degrees = Transformer.from_crs(32632, 4326, always_xy=True)
    half_step = 10**-display.decimals / 2
    for cx, cy in ((x0, y0), (x0 + w, y0), (x0, y0 + h), (x0 + w, y0 + h)):
        lon, lat = to_degrees.transform(cx, cy)
        assert south - half_step <= lat <= north + half_step and west - half_step <= lon <= east + half_step


def test_many_features_are_drawn_on_a_canvas():
    extent = (500_000.0, 5_000_000.0, 600_000.0, 5_100_000.0)
    assert not display_for(extent, 625, 32632).canvas  # the four provinces: SVG paths, one per municipality
    assert display_for(extent, CANVAS_FROM, 32632).canvas
    assert display_for(None, 10, 32632).bounds is None
