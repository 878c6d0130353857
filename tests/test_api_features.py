"""The OGC API - Features server: Part 1 core, Part 2 CRS, Part 3 filtering, errors, and real clients
(GDAL's OAPIF driver through pyogrio, OWSLib) against a live server on loopback."""

import json

import pyogrio
import pytest
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features

from api.app import create_app
from geo.crs import CRS84_URI
from tests.served import serving

BERGAMO = "016024"
COLLECTION_IDS = [
    "provinces",
    "municipalities",
    "coverage",
    "coverage-areas",
    "school-connectivity",
    "broadband-speeds",
    "schools",
    "civics-unserved",
    "roads",
    "priorities",
    "priority-placements",
    "priority-routes",
]


@pytest.fixture(scope="module")
def app(results):
    return create_app(results.settings)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def live(app, results):
    """The service in a process of its own on a free loopback port (GDAL holds the GIL while it fetches)."""
    with serving(results.settings.database_url) as base:
        yield base


def _items(client, collection, **params):
    response = client.get(f"/collections/{collection}/items", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return response


def test_landing_and_conformance(client):
    links = {link["rel"]: link["href"] for link in client.get("/").json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert client.get("/api").json()["openapi"].startswith("3.")
    classes = client.get("/conformance").json()["conformsTo"]
    for part in ("features-1/1.0/conf/core", "features-2/1.0/conf/crs", "features-3/1.0/conf/filter", "cql2-text"):
        assert any(part in c for c in classes), part


def test_collections_describe_themselves(client):
    collections = client.get("/collections").json()["collections"]
    ids = [c["id"] for c in collections]
    assert ids == COLLECTION_IDS
    for collection in collections:
        assert "." not in collection["id"]
        assert CRS84_URI in collection["crs"] and collection["storageCrs"].endswith("/32632")
        assert collection["source"] and collection["publisher"] and collection["license"]
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        assert 8.4 <= west < east <= 11.6 and 44.6 <= south < north <= 46.7, collection["id"]
    municipalities = next(c for c in collections if c["id"] == "municipalities")
    assert municipalities["referenceDate"] == "2023-01-01"


def test_paging_walks_every_feature_once(client):
    seen = []
    url = "/collections/municipalities/items?limit=100"
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == 625
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 625


@pytest.mark.parametrize(
    ("crs", "first_range", "second_range"),
    [
        (None, (9.6, 9.75), (45.6, 45.75)),  # CRS84: lon, lat
        ("http://www.opengis.net/def/crs/EPSG/0/4326", (45.6, 45.75), (9.6, 9.75)),  # lat, lon
        ("http://www.opengis.net/def/crs/EPSG/0/32632", (540_000, 565_000), (5_050_000, 5_070_000)),  # E, N
        ("http://www.opengis.net/def/crs/EPSG/0/6707", (5_050_000, 5_070_000), (540_000, 565_000)),  # N, E
        ("http://www.opengis.net/def/crs/EPSG/0/3035", (2_500_000, 2_600_000), (4_200_000, 4_300_000)),  # N, E
    ],
)
def test_output_crs_and_axis_order(client, crs, first_range, second_range):
    params = {"crs": crs} if crs else {}
    response = client.get(f"/collections/municipalities/items/{BERGAMO}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-crs"] == f"<{crs or CRS84_URI}>"
    ring = response.json()["geometry"]["coordinates"][0][0]
    firsts, seconds = [c[0] for c in ring], [c[1] for c in ring]
    assert first_range[0] < min(firsts) and max(firsts) < first_range[1]
    assert second_range[0] < min(seconds) and max(seconds) < second_range[1]
    assert "crs" not in response.json()["geometry"]


def test_bbox_in_another_crs(client):
    plain = _items(client, "municipalities", bbox="9.66,45.69,9.67,45.70", limit=50).json()
    utm = _items(
        client,
        "municipalities",
        limit=50,
        **{"bbox": "552000,5060000,552800,5061100", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/32632"},
    ).json()
    lat_first = _items(
        client,
        "municipalities",
        limit=50,
        **{"bbox": "45.69,9.66,45.70,9.67", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
    ).json()
    assert BERGAMO in {f["id"] for f in plain["features"]}
    assert BERGAMO in {f["id"] for f in utm["features"]}
    assert {f["id"] for f in lat_first["features"]} == {f["id"] for f in plain["features"]}


def test_cql2_text_and_json_agree(client):
    text_filter = "cod_uts = '019' AND ftth_share < 0.5 AND ref_date = DATE('2025-06-30')"
    json_filter = json.dumps(
        {
            "op": "and",
            "args": [
                {"op": "=", "args": [{"property": "cod_uts"}, "019"]},
                {"op": "<", "args": [{"property": "ftth_share"}, 0.5]},
                {"op": "=", "args": [{"property": "ref_date"}, {"date": "2025-06-30"}]},
            ],
        }
    )
    by_text = _items(client, "coverage", filter=text_filter, limit=200).json()
    by_json = _items(client, "coverage", filter=json_filter, limit=200, **{"filter-lang": "cql2-json"}).json()
    assert by_text["numberMatched"] == by_json["numberMatched"] > 0
    assert all(f["properties"]["ftth_share"] < 0.5 for f in by_text["features"])
    assert {f["id"] for f in by_text["features"]} == {f["id"] for f in by_json["features"]}


def test_spatial_filter_and_sorting(client):
    hit = _items(client, "municipalities", filter="S_INTERSECTS(geometry, POINT(9.6696 45.6947))").json()
    assert [f["id"] for f in hit["features"]] == [BERGAMO]
    ranked = _items(client, "coverage", sortby="-population", limit=5, filter="ref_date = DATE('2025-06-30')").json()
    populations = [f["properties"]["population"] for f in ranked["features"]]
    assert populations == sorted(populations, reverse=True)
    assert ranked["features"][0]["properties"]["comune"] == "Brescia"
    cremona = _items(client, "municipalities", cod_uts="019", limit=1).json()
    assert cremona["numberMatched"] == 113


def test_schools_say_how_they_were_located(client):
    page = _items(client, "schools", limit=500, filter="geocode_method <> 'geocoded_address'").json()
    assert page["numberMatched"] > 0
    assert {f["properties"]["geocode_quality"] for f in page["features"]} <= {"settlement", "municipality"}


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/collections/nothing/items", 404, "no collection"),
        ("/collections/municipalities/items/999999", 404, "no feature"),
        ("/collections/municipalities/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/municipalities/items?bbox=10,46,9,45", 400, "lower corner"),
        ("/collections/municipalities/items?limit=0", 400, "limit"),
        ("/collections/municipalities/items?crs=EPSG:9999", 400, "crs: unsupported CRS"),
        ("/collections/municipalities/items?bbox-crs=urn:x", 400, "bbox-crs"),
        ("/collections/municipalities/items?filter=comune%20%3D", 400, "filter: invalid cql2-text"),
        ("/collections/municipalities/items?filter=secret%3D1", 400, "unknown property 'secret'"),
        ("/collections/municipalities/items?sortby=secret", 400, "sortby: unknown property"),
        ("/collections/municipalities/items?colour=red", 400, "colour: unknown parameter"),
        ("/collections/municipalities/items?filter-lang=ecql", 400, "filter-lang"),
    ],
)
def test_bad_requests_get_ogc_exceptions(client, path, status, fragment):
    response = client.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description"} and fragment in body["description"]


def test_gdal_reads_the_service(live):
    layers = dict(pyogrio.list_layers(f"OAPIF:{live}/"))
    assert layers["municipalities"] == "MultiPolygon" and layers["schools"] == "Point"
    frame = pyogrio.read_dataframe(
        f"OAPIF:{live}/", layer="municipalities", bbox=(552_000, 5_060_000, 553_000, 5_061_000)
    )
    assert BERGAMO in set(frame["pro_com_t"])
    assert frame.crs.to_epsg() == 32632
    every = pyogrio.read_dataframe(f"OAPIF:{live}/", layer="provinces")
    assert sorted(every["sigla"]) == ["BG", "BS", "CR", "MN"]


def test_owslib_pages_to_the_end(live):
    api = Features(live)
    assert {c["id"] for c in api.collections()["collections"]} >= {"municipalities", "coverage"}
    seen, offset = [], 0
    while True:
        page = api.collection_items("municipalities", limit=200, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 200
    assert len(seen) == len(set(seen)) == 625


def test_etag_gzip_and_cors(client):
    first = client.get("/collections/provinces/items", headers={"Accept-Encoding": "gzip", "Origin": "http://x.test"})
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["access-control-allow-origin"] == "*"
    again = client.get("/collections/provinces/items", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/collections/provinces/items?limit=1", headers={"If-None-Match": first.headers["etag"]})
    assert other.status_code == 200 and other.headers["etag"] != first.headers["etag"]


def test_downloads_of_a_filtered_query_read_back_the_same_rows(client, tmp_path):
    import io

    import openpyxl
    import pandas as pd

    params = {"filter": "cod_uts = '019'", "crs": "http://www.opengis.net/def/crs/EPSG/0/32632", "sortby": "comune"}
    reference = _items(client, "municipalities", limit=500, **params).json()
    expected = [f["id"] for f in reference["features"]]
    assert len(expected) == 113

    csv_response = client.get("/collections/municipalities/items", params={**params, "f": "csv"})
    assert csv_response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv_response.text), dtype={"pro_com_t": str, "cod_uts": str})
    assert table["pro_com_t"].tolist() == expected
    assert table["geometry_wkt"].str.startswith("MULTIPOLYGON").all()

    xlsx = client.get("/collections/municipalities/items", params={**params, "f": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("pro_com_t", "comune") and sheet.freeze_panes == "A2"
    assert [r[0] for r in rows[1:]] == expected
    assert all(isinstance(r[-1], float) and 4_950_000 < r[-1] < 5_100_000 for r in rows[1:])  # northings as numbers

    gpkg = client.get("/collections/municipalities/items", params={**params, "f": "gpkg"})
    path = tmp_path / "municipalities.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path)
    assert frame["pro_com_t"].tolist() == expected and frame.crs.to_epsg() == 32632
    assert gpkg.headers["content-disposition"] == 'attachment; filename="municipalities.gpkg"'


def test_dcat_catalogue_lists_every_collection_with_working_downloads(client):
    response = client.get("/catalog")
    assert response.headers["content-type"].startswith("application/ld+json")
    catalogue = response.json()
    assert (
        "dcat:Catalog" in catalogue["@type"]
        and catalogue["@context"]["dcatapit"] == "http://dati.gov.it/onto/dcatapit#"
    )
    datasets = {d["dct:identifier"]: d for d in catalogue["dcat:dataset"]}
    assert set(datasets) == {f"areavasta:{c}" for c in COLLECTION_IDS}
    provinces = datasets["areavasta:provinces"]
    assert provinces["dct:license"] == "CC-BY-4.0" and provinces["dct:modified"]["@value"] == "2023-01-01"
    for distribution in provinces["dcat:distribution"]:
        assert client.get(distribution["dcat:downloadURL"]["@id"]).status_code == 200


def test_priority_collections_and_downloads(client):
    targets = _items(client, "priorities", sortby="rank", limit=5).json()
    assert [f["properties"]["rank"] for f in targets["features"]] == [1, 2, 3, 4, 5]
    routes = _items(client, "priority-routes", filter="selected = true", limit=5).json()
    assert routes["numberMatched"] > 0
    assert all(f["geometry"]["type"] == "MultiLineString" for f in routes["features"] if f["geometry"])
    for fmt in ("csv", "xlsx", "gpkg", "geojson"):
        response = client.get(f"/downloads/priorities.{fmt}")
        assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    assert client.get("/downloads/priorities.pdf").status_code == 400
    assert client.get("/downloads/priorities.csv?run=99999").status_code == 404


def test_civic_numbers_per_municipality_are_counts_or_unknown(client):
    page = _items(client, "civics-unserved", limit=1000).json()
    values = {f["id"]: f["properties"]["civici_unserved"] for f in page["features"]}
    assert len(values) == 625
    assert values["016088"] is None and values["017083"] is None  # Credaro and Incudine: not named by Infratel
    assert values["016024"] == 470 and sum(v for v in values.values() if v is not None) == 102_345
