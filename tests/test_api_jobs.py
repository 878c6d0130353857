"""API keys and background jobs: roles, hashing, revocation, and jobs that run and report their status."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from geo import keys
from geo.cli import app as cli


@pytest.fixture
def service(store, tmp_path):
    settings = store.settings.model_copy(update={"sources_dir": tmp_path})
    with TestClient(create_app(settings)) as client:
        yield store, client


def _wait(client, job_id, headers=None):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}", headers=headers or {}).json()
        if status["status"] in ("successful", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_keys_are_stored_hashed_and_checked_by_role(store):
    key, secret = keys.create(store.engine, "ufficio viabilità", "editor")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT secret_sha256, prefix FROM meta.api_key WHERE id = :i"), {"i": key.id}).one()
    assert secret not in stored.secret_sha256 and stored.prefix == secret[:8]
    assert keys.verify(store.engine, secret) == key
    assert keys.verify(store.engine, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert key.allows("viewer") and key.allows("editor") and not key.allows("admin")
    assert keys.revoke(store.engine, key.id) and keys.verify(store.engine, secret) is None
    with pytest.raises(ValueError, match="role must be one of"):
        keys.create(store.engine, "x", "superuser")


def test_jobs_need_an_editor_key_and_run_in_the_background(service):
    store, client = service
    _, viewer = keys.create(store.engine, "viewer", "viewer")
    _, editor = keys.create(store.engine, "editor", "editor")
    assert client.post("/jobs/ingest").status_code == 401
    assert client.post("/jobs/ingest", headers={"X-API-Key": "nonsense-key"}).status_code == 401
    forbidden = client.post("/jobs/ingest", headers={"X-API-Key": viewer})
    assert forbidden.status_code == 403 and "needs editor" in forbidden.json()["description"]
    assert client.post("/jobs/cook", headers={"X-API-Key": editor}).status_code == 404
    started = client.post("/jobs/ingest", headers={"X-API-Key": editor})
    assert started.status_code == 201 and started.headers["location"] == f"/jobs/{started.json()['jobID']}"
    done = _wait(client, started.json()["jobID"])
    assert done["status"] == "successful", done
    boundaries = next(layer for layer in done["result"]["layers"] if layer["layer"] == "boundaries")
    assert boundaries["status"] == "succeeded" and boundaries["rows_loaded"] == 625
    analysed = _wait(client, client.post("/jobs/analyze", headers={"X-API-Key": editor}).json()["jobID"])
    assert analysed["status"] == "failed" and "needs population and AGCOM data" in analysed["message"]
    bad = client.post("/jobs/priorities?scenario=nope", headers={"X-API-Key": editor})
    assert bad.status_code == 400 and "unknown scenario" in bad.json()["description"]
    ranked = client.post("/jobs/priorities?scenario=duct-reuse", headers={"X-API-Key": editor})
    failed = _wait(client, ranked.json()["jobID"])
    assert failed["status"] == "failed" and "run 'areavasta analyze' first" in failed["message"]


def test_reading_can_require_a_viewer_key(store):
    settings = store.settings.model_copy(update={"public_read": False})
    _, viewer = keys.create(store.engine, "viewer", "viewer")
    with TestClient(create_app(settings)) as client:
        assert client.get("/collections").status_code == 401
        assert client.get("/collections", headers={"X-API-Key": viewer}).status_code == 200
        assert client.get("/health").status_code == 200


def test_keys_commands(store, monkeypatch):
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", store.settings.database_url)
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--name", "gis office", "--role", "admin"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert keys.verify(store.engine, secret).role == "admin"
    listed = runner.invoke(cli, ["keys", "list"])
    assert "gis office" in listed.output and secret not in listed.output
    assert runner.invoke(cli, ["keys", "revoke", "1"]).exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", "1"]).exit_code == 1
    assert runner.invoke(cli, ["keys", "create", "--name", "x", "--role", "root"]).exit_code == 1
