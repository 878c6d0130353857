from fastapi.testclient import TestClient

from api.app import create_app
from geo.settings import Settings


def test_ready_reports_postgis_and_current_schema(store):
    with TestClient(create_app(store.settings)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["schema_current"] is True
    assert body["postgis"].startswith("3.")


def test_ready_is_503_with_a_reason_when_the_store_is_down():
    settings = Settings(database_url="postgresql+psycopg://u:p@127.0.0.1:1/none", _env_file=None)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
    assert ready.status_code == 503
    assert "Cannot connect" in ready.json()["reason"]
