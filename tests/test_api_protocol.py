"""What every endpoint does alike: HEAD as GET without a body, NUL bytes refused, values the store refuses and a
store that is down answered as documents (400, 503 with Retry-After), never as a bare 500."""

import logging
import re

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.app import create_app
from geo.settings import Settings
from tests.conftest import free_port

# a value for each path parameter of the GET routes, so that every route answers (200, or its documented 404/204)
PATH_VALUES = {
    "collection_id": "provinces",
    "feature_id": "016",
    "tms_id": "WebMercatorQuad",
    "z": "6",
    "x": "33",
    "y": "22",
    "fmt": "csv",
    "job_id": "no-such-job",
    "code": "016024",
}
STATIC_FILES = {"/static/leaflet": "leaflet.js", "/static/maps": "areavasta.js"}


@pytest.fixture(scope="module")
def client(area_vasta):
    with TestClient(create_app(area_vasta.settings)) as client:
        yield client


def _get_paths(client) -> list[str]:
    """Every GET operation of the API description with its path parameters filled in, the description and its
    page, and a file of some static mounts."""
    spec = client.get("/api").json()
    paths = [
        re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], path)
        for path, methods in spec["paths"].items()
        if "get" in methods
    ]
    mounts = [r.path for r in client.app.routes if isinstance(r, Mount) and r.path in STATIC_FILES]
    return [*paths, "/api", "/docs", *(f"{m}/{STATIC_FILES[m]}" for m in mounts)]


def test_head_answers_like_get_without_a_body_on_every_get_route(client):
    paths = _get_paths(client)
    assert len(paths) >= 25
    for path in paths:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert got.status_code in (200, 204, 404), (path, got.text[:200])
        assert head.content == b"", path
        for header in ("etag", "content-type", "content-length", "content-disposition", "content-crs"):
            assert head.headers.get(header) == got.headers.get(header), (path, header)


@pytest.mark.parametrize("path", ["/api", "/catalog", "/conformance", "/collections/provinces/items", "/docs"])
def test_gzip_refused_with_q_0_is_not_sent(client, path):
    for refusal in ("gzip;q=0", "gzip; q=0.0, identity", "*;q=0"):
        response = client.get(path, headers={"Accept-Encoding": refusal})
        assert response.status_code == 200 and "content-encoding" not in response.headers, (path, refusal)
    wanted = client.get(path, headers={"Accept-Encoding": "gzip"})
    if len(wanted.content) >= 1024:
        assert wanted.headers["content-encoding"] == "gzip", path


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/collections/provinces/items?limit=1&limit=2", "limit"),
        ("/collections/provinces/items?bbox=9,45,10,46&bbox=1,1,2,2", "bbox"),
        ("/collections/provinces/items?filter=cod_uts%3D%27016%27&filter=cod_uts%3D%27017%27", "filter"),
        ("/collections/provinces/items/016?crs=a&crs=b", "crs"),
        ("/collections/provinces/tiles/WebMercatorQuad/6/33/22?filter=a&filter=b", "filter"),
        ("/maps/coverage?province=016&province=017", "province"),
    ],
)
def test_a_parameter_taken_once_and_given_twice_is_refused(client, path, parameter):
    response = client.get(path)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "code": "InvalidParameterValue",
        "description": f"{parameter}: given more than once; it takes one value",
    }


def test_client_errors_log_no_traceback(client, caplog):
    bad = [
        "/collections/nope/items",
        "/collections/provinces/items?limit=abc",
        "/collections/provinces/items?filter=cod_uts%20%3D%2016",
        "/collections/provinces/items?bbox=1,2,3",
        "/collections/municipalities/items?filter=vintage%20%3D%20%27not%20a%20date%27",
        "/collections/provinces/items/016%00",
        "/collections/coverage/items?run=99999999999",
        "/collections/provinces/items?f=csv&filter=x%3D1",
        "/jobs/nope",
    ]
    with caplog.at_level(logging.DEBUG):
        for path in bad:
            assert 400 <= client.get(path).status_code < 500, path
        assert client.post("/jobs/ingest", headers={"X-API-Key": "guess"}).status_code == 401
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == []


def test_the_api_description_declares_the_errors_served(client):
    spec = client.get("/api").json()
    operations = {(path, method): op for path, methods in spec["paths"].items() for method, op in methods.items()}
    assert not [key for key, op in operations.items() if "422" in op["responses"]]
    for key, op in operations.items():
        assert {"400", "500"} <= set(op["responses"]), key
    assert set(operations["/health", "get"]["responses"]) == {"200", "400", "500"}
    assert set(operations["/ready", "get"]["responses"]) == {"200", "400", "500", "503"}
    assert {"401", "403", "404", "503"} <= set(operations["/collections/{collection_id}/items", "get"]["responses"])
    assert "404" not in operations["/conformance", "get"]["responses"]
    assert {"401", "403"} <= set(operations["/jobs/{kind}", "post"]["responses"])


@pytest.mark.parametrize(
    "path",
    [
        "/collections/municipalities/items?filter=comune%3D%27a%00b%27",
        "/collections/municipalities/items/016%00024",
        "/collections/municipalities/items?comune=x%00",
    ],
)
def test_nul_bytes_are_a_client_error(client, path):
    response = client.get(path)
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameterValue"


@pytest.mark.parametrize(
    "where",
    ["cod_uts = 16", "vintage = 'not a date'", "comune > 5"],
)
def test_values_of_another_type_are_a_client_error(client, where):
    response = client.get("/collections/municipalities/items", params={"filter": where})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidParameterValue"


def test_a_store_that_is_down_is_a_503_with_a_reason(tmp_path):
    down = Settings(
        database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", data_dir=tmp_path, _env_file=None
    )
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        for path in ("/collections/provinces/items", "/collections/provinces/items/016", "/maps/coverage"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] and "unreachable" in response.json()["description"]
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert ready.json()["code"] == "ServiceUnavailable" and ready.headers["retry-after"]


def test_a_lone_escape_in_like_is_a_client_error(client):
    response = client.get("/collections/municipalities/items", params={"filter": "comune LIKE '\\'"})
    assert response.status_code == 400 and "Traceback" not in response.text


def test_a_method_not_allowed_says_which_are(client):
    response = client.post("/collections")
    assert response.status_code == 405 and "GET" in response.headers["allow"]
    assert response.json()["code"] == "HTTPError"


def test_a_repeated_property_parameter_means_any_of_its_values(client):
    one = client.get("/collections/provinces/items", params={"cod_uts": "016"}).json()["numberMatched"]
    both = client.get("/collections/provinces/items", params=[("cod_uts", "016"), ("cod_uts", "017")]).json()
    assert one == 1 and both["numberMatched"] == 2
    assert {f["properties"]["cod_uts"] for f in both["features"]} == {"016", "017"}


def test_an_unexpected_error_ends_as_a_document_without_escaping_to_the_server(area_vasta):
    app = create_app(area_vasta.settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a defect")

    # the TestClient re-raises whatever escapes the application, as uvicorn would drop the connection on it
    with TestClient(app) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.json() == {"code": "ServerError", "description": "the service failed to answer this request"}
        assert client.get("/conformance").status_code == 200


def test_civic_numbers_are_unknown_not_zero_without_an_infratel_list(client):
    page = client.get("/collections/civics-unserved/items", params={"limit": 1000}).json()
    assert page["numberMatched"] == 625  # boundaries only: no Infratel list loaded in this store
    assert {f["properties"]["civici_unserved"] for f in page["features"]} == {None}


@pytest.mark.parametrize(
    "where",
    [
        "(" * 40 + "cod_uts = '016'",  # unclosed: the parser's backtracking doubles per level
        "(" * 30 + "cod_uts = " + ")" * 30,
        "(" * 11 + "cod_uts = '016'" + ")" * 11,
    ],
)
def test_filters_nesting_too_deep_are_refused_before_parsing(client, where):
    response = client.get("/collections/provinces/items", params={"filter": where})
    assert response.status_code == 400
    assert response.json()["description"] == "filter: parentheses nest deeper than 10 levels"
    tile = client.get("/collections/provinces/tiles/WebMercatorQuad/6/33/22", params={"filter": where})
    assert tile.status_code == 400


def test_filters_nesting_within_the_bound_are_served(client):
    where = "(" * 10 + "cod_uts = '016' AND den_uts = '((((((((((((('" + ")" * 10
    assert client.get("/collections/provinces/items", params={"filter": where}).json()["numberMatched"] == 0
    where = "(" * 10 + "cod_uts = '016'" + ")" * 10
    assert client.get("/collections/provinces/items", params={"filter": where}).json()["numberMatched"] == 1
