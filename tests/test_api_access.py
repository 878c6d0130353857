"""Access from outside: wrong API keys are limited per client address (429 with Retry-After), and browsers of other
origins may read (GET, HEAD) but not start jobs or send credentials unless the operator lists their origin."""

import pydantic
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo import keys
from geo.settings import Settings


@pytest.fixture(scope="module")
def editor(area_vasta):
    return keys.create(area_vasta.engine, "ufficio", "editor")[1]


def test_wrong_keys_are_limited_per_address(area_vasta, editor):
    settings = area_vasta.settings.model_copy(update={"key_failures_per_minute": 5})
    app = create_app(settings)
    statuses: dict[int, int] = {}
    with TestClient(app, client=("192.0.2.1", 40000)) as guesser:
        for i in range(1000):
            status = guesser.post("/jobs/cook", headers={"X-API-Key": f"guess-{i}"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
        assert statuses == {401: 5, 429: 995}
        refused = guesser.post("/jobs/cook", headers={"X-API-Key": editor})  # even the right key, for now
        assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
        assert refused.json()["code"] == "TooManyRequests"
        assert guesser.get("/collections/provinces/items?limit=1").status_code == 200  # public reading goes on
    with TestClient(app, client=("192.0.2.2", 40000)) as other:  # another address is not held back
        assert other.post("/jobs/cook", headers={"X-API-Key": editor}).status_code == 404
        assert other.post("/jobs/cook", headers={"X-API-Key": "wrong"}).status_code == 401


def test_private_reading_counts_wrong_keys_too(area_vasta):
    settings = area_vasta.settings.model_copy(update={"key_failures_per_minute": 3, "public_read": False})
    with TestClient(create_app(settings)) as client:
        codes = [client.get("/collections", headers={"X-API-Key": f"k{i}"}).status_code for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]


def _preflight(client: TestClient, origin: str, method: str, headers: str = "x-api-key") -> dict[str, str]:
    response = client.options(
        "/jobs/ingest",
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )
    return {"status": str(response.status_code), **{k.lower(): v for k, v in response.headers.items()}}


def test_cors_by_default_reads_from_anywhere_and_writes_from_nowhere(area_vasta):
    with TestClient(create_app(area_vasta.settings)) as client:
        read = client.get("/collections", headers={"Origin": "https://any.example"})
        assert read.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in read.headers
        post = _preflight(client, "https://any.example", "POST")
        assert post["status"] == "400" and "POST" not in post.get("access-control-allow-methods", "")
        get = _preflight(client, "https://any.example", "GET")
        assert get["status"] == "200" and "access-control-allow-credentials" not in get


def test_cors_writing_only_from_the_listed_origins(area_vasta):
    settings = area_vasta.settings.model_copy(
        update={"cors_origins": ("https://gis.example",), "cors_methods": ("GET", "HEAD", "POST")}
    )
    with TestClient(create_app(settings)) as client:
        allowed = _preflight(client, "https://gis.example", "POST")
        assert allowed["status"] == "200" and allowed["access-control-allow-origin"] == "https://gis.example"
        assert "POST" in allowed["access-control-allow-methods"] and "access-control-allow-credentials" not in allowed
        assert _preflight(client, "https://evil.example", "POST")["status"] == "400"


def test_writing_from_any_origin_is_refused_at_start():
    with pytest.raises(pydantic.ValidationError, match="list the allowed origins"):
        Settings(cors_methods="GET,HEAD,POST", _env_file=None)
    assert Settings(cors_methods="get, head", _env_file=None).cors_methods == ("GET", "HEAD")
