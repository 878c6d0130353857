"""Vector tiles (OGC API - Tiles, Mapbox Vector Tiles built by PostGIS): every collection with geometry, read back
with GDAL's MVT driver, filtered like the items, cached with ETags, empty tiles 204 and tiles off the grid 404."""

import morecantile
import pyogrio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ogc.collections import COLLECTIONS

TMS = morecantile.tms.get("WebMercatorQuad")
BERGAMO = TMS.tile(9.6696, 45.6947, 9)  # the tile holding the city of Bergamo
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module")
def client(results):
    with TestClient(create_app(results.settings)) as test_client:
        yield test_client


def _tile(client, collection, tile=BERGAMO, **params):
    return client.get(f"/collections/{collection}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}", params=params)


def _read(response, tmp_path, collection, tile=BERGAMO):
    assert response.status_code == 200 and response.headers["content-type"] == MVT, response.text[:200]
    path = tmp_path / f"{collection}.mvt"
    path.write_bytes(response.content)
    return pyogrio.read_dataframe(path, layer=collection, Z=tile.z, X=tile.x, Y=tile.y)


def test_tile_matrix_sets_and_tileset_metadata(client):
    sets = client.get("/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    assert client.get("/tileMatrixSets/WebMercatorQuad").json()["id"] == "WebMercatorQuad"
    listed = client.get("/collections/coverage/tiles").json()["tilesets"]
    assert listed[0]["dataType"] == "vector"
    tileset = client.get("/collections/coverage/tiles/WebMercatorQuad").json()
    template = next(link for link in tileset["links"] if link["rel"] == "item")
    assert template["href"].endswith("/collections/coverage/tiles/WebMercatorQuad/{tileMatrix}/{tileCol}/{tileRow}")
    assert template["type"] == MVT
    assert "the newest ref_date among the features asked for" in tileset["description"]
    assert tileset["layers"][0]["propertiesSchema"]["properties"]["ref_date"] == {"type": "string", "format": "date"}
    tilejson = client.get("/collections/coverage/tiles/WebMercatorQuad/tilejson.json").json()
    assert tilejson["tiles"][0].endswith("/collections/coverage/tiles/WebMercatorQuad/{z}/{x}/{y}")
    west, south, east, north = tilejson["bounds"]
    assert 9 < west < 10.5 and 44.5 < south < 45.5 and 10.5 < east < 11.5 and 45.5 < north < 46.8


@pytest.mark.parametrize("collection", [c for c in COLLECTIONS])
def test_every_collection_has_tiles_over_the_area(client, collection, tmp_path):
    tile = TMS.tile(10.0, 45.5, 7)  # the four provinces
    frame = _read(_tile(client, collection, tile), tmp_path, collection, tile)
    assert len(frame) > 0
    names = set(COLLECTIONS[collection].tile_names)
    carried = set(frame.columns) - {"geometry", "mvt_id"}
    assert carried <= names and len(carried) >= len(names) - 1, names ^ carried  # a property null everywhere is absent


def test_tile_content_codes_and_filters(client, tmp_path):
    municipalities = _read(_tile(client, "municipalities"), tmp_path, "municipalities")
    assert "016024" in set(municipalities["pro_com_t"])  # codes stay text, with their leading zero
    newest = _read(_tile(client, "coverage"), tmp_path, "coverage")
    assert set(newest["ref_date"]) == {"2025-06-30"}  # one map: each municipality once, at the newest date
    assert newest["pro_com_t"].is_unique and "016024" in set(newest["pro_com_t"])
    one = _read(_tile(client, "coverage", ref_date="2025-06-30"), tmp_path, "coverage")
    assert set(one["ref_date"]) == {"2025-06-30"} and len(one) == len(newest)
    earlier = _read(_tile(client, "coverage", ref_date="2025-03-31"), tmp_path, "coverage")
    assert set(earlier["ref_date"]) == {"2025-03-31"} and set(earlier["pro_com_t"]) == set(one["pro_com_t"])
    both = _read(_tile(client, "coverage", ref_date=["2025-03-31", "2025-06-30"]), tmp_path, "coverage")
    assert set(both["ref_date"]) == {"2025-03-31", "2025-06-30"} and len(both) == 2 * len(one)  # each date asked
    chosen = _read(_tile(client, "coverage", filter="ref_date < DATE('2025-06-01')"), tmp_path, "coverage")
    assert set(chosen["ref_date"]) == {"2025-03-31"}  # the newest among the features the filter asks for
    gaps = _read(_tile(client, "coverage", filter="ftth_share < 0.5"), tmp_path, "coverage")
    assert 0 < len(gaps) < len(one) and (gaps["ftth_share"] < 0.5).all() and set(gaps["ref_date"]) == {"2025-06-30"}
    speeds = _read(_tile(client, "broadband-speeds", TMS.tile(10.0, 45.5, 7)), tmp_path, "broadband-speeds")
    assert speeds["quarter"].nunique() == 1 and speeds["code"].is_unique  # one quarter of the fourteen measured
    assert _tile(client, "coverage", filter="cod_uts = 16").status_code == 400


def test_generalisation_keeps_low_zoom_tiles_small(client):
    national = _tile(client, "municipalities", TMS.tile(10.0, 45.5, 6))
    close = _tile(client, "municipalities", TMS.tile(9.6696, 45.6947, 12))
    assert national.status_code == close.status_code == 200
    assert len(national.content) < 400_000  # 625 municipal outlines at zoom 6
    for lon, lat in ((9.67, 45.69), (10.21, 45.54), (10.02, 45.13), (10.79, 45.16)):  # the four chief towns
        province = _tile(client, "coverage", TMS.tile(lon, lat, 8))
        assert province.status_code == 200 and 1_000 < len(province.content) < 100_000  # a province's coverage, z8


def test_empty_off_grid_and_cached_tiles(client):
    ocean = TMS.tile(-30.0, 0.0, 8)
    assert _tile(client, "municipalities", ocean).status_code == 204
    assert client.get("/collections/municipalities/tiles/WebMercatorQuad/3/9/0").status_code == 404
    assert client.get("/collections/municipalities/tiles/WebMercatorQuad/30/0/0").status_code == 404
    assert client.get("/collections/municipalities/tiles/NoSuchGrid/3/0/0").status_code == 404
    first = _tile(client, "municipalities")
    again = client.get(
        f"/collections/municipalities/tiles/WebMercatorQuad/{BERGAMO.z}/{BERGAMO.x}/{BERGAMO.y}",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    packed = _tile(client, "roads")
    assert packed.headers.get("content-encoding") == "gzip"
