"""The served figures do not move under a refactor: a digest of every collection's features (ids, properties with
floats to 9 significant digits, geometries to 1e-6 degree) over the analysed real data, compared with the digests
committed in tests/served_digests.json. ``AREAVASTA_WRITE_DIGESTS=1`` writes that file instead of comparing (only
when a change of the served figures is meant)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ogc.collections import COLLECTIONS

DIGESTS = Path(__file__).with_name("served_digests.json")
PAGE = 10_000


def _rounded(value: Any, digits: int) -> Any:
    """Floats as text with ``digits`` significant digits (the last bits of a sum are not a figure), recursively."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def _coordinates(value: Any) -> Any:
    if isinstance(value, list):
        return [_coordinates(v) for v in value]
    return round(float(value), 6) + 0.0  # CRS84 degrees as served (6 decimals); -0.0 and 0.0 alike


def _features(client: TestClient, collection_id: str) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        response = client.get(f"/collections/{collection_id}/items", params={"limit": PAGE, "offset": offset})
        assert response.status_code == 200, response.text
        features = orjson.loads(response.content)["features"]
        yield from features
        if len(features) < PAGE:
            return
        offset += PAGE


def digest(client: TestClient, collection_id: str) -> dict[str, Any]:
    """The number of features and a SHA-256 over their ids, properties and geometries, in id order."""
    lines = []
    for feature in _features(client, collection_id):
        geometry = feature["geometry"]
        shape = {"type": geometry["type"], "coordinates": _coordinates(geometry["coordinates"])}
        lines.append(
            json.dumps([feature["id"], _rounded(feature["properties"], 9), shape], sort_keys=True, ensure_ascii=False)
        )
    lines.sort()
    sha = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return {"features": len(lines), "sha256": sha}


@pytest.fixture(scope="module")
def client(results):
    with TestClient(create_app(results.settings)) as test_client:
        yield test_client


def test_every_collection_serves_the_committed_figures(client):
    found = {collection_id: digest(client, collection_id) for collection_id in COLLECTIONS}
    if os.environ.get("AREAVASTA_WRITE_DIGESTS") == "1":
        DIGESTS.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"digests written to {DIGESTS}")
    assert found == json.loads(DIGESTS.read_text())
