"""What every endpoint does alike: HEAD as GET without a body, NUL bytes refused, values the store refuses and a
store that is down answered as documents (400, 503 with Retry-After), never as a bare 500."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo.settings import Settings
from tests.conftest import free_port


@pytest.fixture(scope="module")
def client(area_vasta):
    with TestClient(create_app(area_vasta.settings)) as client:
        yield client


@pytest.mark.parametrize("path", ["/", "/collections", "/collections/provinces/items", "/maps/", "/api"])
def test_head_answers_like_get_without_a_body(client, path):
    got, head = client.get(path), client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers.get("etag") == got.headers.get("etag")
    assert head.headers["content-type"] == got.headers["content-type"]


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
