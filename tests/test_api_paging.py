"""Paging during writes: the next and prev links pin the analysis run or the data version, so a traversal never
mixes two runs or two loads (#18, finding 12)."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app


@pytest.fixture(scope="module")
def client(results):
    with TestClient(create_app(results.settings)) as test_client:
        yield test_client


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def _link(page, rel):
    return next((link["href"] for link in page["links"] if link["rel"] == rel), None)


def _pinned(href):
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def _after_write(client, url, status, check=lambda body: True):
    """The answer to ``url`` once the service has seen the write (its listener tells it within moments)."""
    for _ in range(100):
        response = client.get(url)
        if response.status_code == status and check(response.json()):
            return response
        time.sleep(0.05)
    raise AssertionError(f"{url}: still {response.status_code}: {response.text[:300]}")


def _record_load(store, layer):
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO meta.ingest_run (layer, source, status, finished_at) "
                "VALUES (:l, 'test: a new load', 'succeeded', now())"
            ),
            {"l": layer},
        )


@pytest.mark.parametrize("query", ["limit=200", "limit=200&filter=cod_uts%20%3C%3E%20%27099%27"])
def test_a_new_load_between_pages_is_a_409_not_a_mixed_traversal(client, results, query):
    """Plain pages (the fast path) and filtered ones (the routes) alike."""
    first = _page(client, f"/collections/municipalities/items?{query}")
    following = _link(first, "next")
    version = int(_pinned(following)["version"])
    assert first["numberMatched"] == 625 and version > 0
    second = _page(client, following)
    assert _pinned(_link(second, "next"))["version"] == str(version)
    assert _pinned(_link(second, "prev")) == {**_pinned(following), "offset": "0"}
    ids = [f["id"] for f in first["features"] + second["features"]]
    assert len(set(ids)) == 400

    _record_load(results, "boundaries")
    refused = _after_write(client, _link(second, "next"), 409).json()
    assert refused["code"] == "Conflict"
    assert f"version {version}, now " in refused["description"] and "first page" in refused["description"]
    again = _page(client, f"/collections/municipalities/items?{query}")  # starting again pins the new load
    assert int(_pinned(_link(again, "next"))["version"]) > version


def test_a_load_of_another_layer_does_not_interrupt_a_traversal(client, results):
    first = _page(client, "/collections/provinces/items?limit=2")
    following = _link(first, "next")
    _record_load(results, "ookla")
    time.sleep(0.3)  # the listener has seen it
    assert len(_page(client, following)["features"]) == 2


def test_results_pages_stay_on_the_run_they_started_from(client, results):
    first = _page(client, "/collections/coverage/items?limit=100")
    following = _link(first, "next")
    run = int(_pinned(following)["run"])
    with results.engine.begin() as conn:  # a newer coverage run (no rows yet: unpinned pages would be empty)
        newer = conn.execute(
            text(
                "INSERT INTO out.analysis_run (kind, status, finished_at, parameters, reference_versions, "
                "ingest_runs) VALUES ('coverage', 'succeeded', now(), '{}', '{}', '[]') RETURNING id"
            )
        ).scalar_one()
    assert newer > run
    _after_write(client, "/collections/coverage/items?limit=100&offset=100", 200, lambda b: b["features"] == [])
    second = _page(client, following)
    assert len(second["features"]) == 100 and second["numberMatched"] == first["numberMatched"]
    assert {f["id"] for f in first["features"]}.isdisjoint(f["id"] for f in second["features"])
    assert _pinned(_link(second, "next"))["run"] == str(run)


def test_version_is_refused_where_runs_pin_the_pages(client):
    response = client.get("/collections/coverage/items?version=3")
    assert response.status_code == 400 and "run" in response.json()["description"]
    assert client.get("/collections/municipalities/items?version=-1").status_code == 400
