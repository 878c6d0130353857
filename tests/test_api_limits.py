"""Bounded cost and an absent store: a store that goes away, a statement past its timeout, a pool with no free
connection and every export slot taken are each a 503 document with a reason and Retry-After, never a bare 500;
the service recovers when the cause goes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from api.app import create_app
from geo.settings import Settings

# one request per kind of data endpoint (a cached document, items, a feature, tiles, a map, a download, a job)
DATA_PATHS = [
    "/collections",
    "/collections/provinces",
    "/collections/provinces/items",
    "/collections/provinces/items?limit=2",
    "/collections/provinces/items/016",
    "/collections/provinces/items?f=csv",
    "/collections/provinces/items?f=xlsx",
    "/collections/provinces/tiles/WebMercatorQuad/6/33/22",
    "/maps/coverage",
    "/maps/",
    "/downloads/priorities.csv",
    "/catalog",
    "/jobs/0123",
]


class Proxy:
    """A TCP relay to the store that can be cut (every connection dropped, new ones closed at once) and mended."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open = False
        with self._lock:
            for s in self._sockets:
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()

    def mend(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@contextmanager
def through_proxy(settings: Settings) -> Iterator[tuple[Settings, Proxy]]:
    url = make_url(settings.database_url)
    proxy = Proxy(url.port)
    relayed = url.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        yield settings.model_copy(update={"database_url": relayed}), proxy
    finally:
        proxy.close()


def _assert_unavailable(response, path: str) -> None:
    assert response.status_code == 503, (path, response.status_code, response.text[:300])
    assert int(response.headers["retry-after"]) > 0, path
    body = response.json()
    assert body["code"] == "ServiceUnavailable" and body["description"], path
    assert "Traceback" not in response.text and "psycopg" not in body["description"], path


def test_a_store_that_goes_away_is_a_503_everywhere_and_the_service_recovers(area_vasta):
    with through_proxy(area_vasta.settings) as (settings, proxy), TestClient(create_app(settings)) as client:
        before = {path: client.get(path).status_code for path in DATA_PATHS}
        assert before["/collections/provinces/items"] == 200 and before["/collections/provinces/items?f=csv"] == 200
        assert client.get("/ready").status_code == 200
        proxy.cut()
        # the version listener notices the lost store within its half-second poll; until then it still vouches for
        # the cached answers, which are the data as they are (nothing can change them while the store is away)
        watch = client.app.state.store.watch
        for _ in range(100):
            if watch is None or watch.current() is None:
                break
            time.sleep(0.05)
        for path in DATA_PATHS:
            _assert_unavailable(client.get(path), path)
        ready = client.get("/ready")
        _assert_unavailable(ready, "/ready")
        assert ready.json()["status"] == "unavailable"
        assert client.get("/health").status_code == 200
        proxy.mend()
        after = {path: client.get(path).status_code for path in DATA_PATHS}
        assert after == before
        assert client.get("/ready").status_code == 200


def test_a_managed_store_never_created_is_a_503(tmp_path):
    settings = Settings(data_dir=tmp_path, pg_port=1025, _env_file=None)  # no cluster in tmp_path
    with TestClient(create_app(settings)) as client:
        for path in ("/collections/provinces/items", "/maps/", "/ready"):
            _assert_unavailable(client.get(path), path)


def test_a_statement_past_the_timeout_is_a_503_saying_so(area_vasta):
    settings = area_vasta.settings.model_copy(update={"statement_timeout_ms": 1})
    app = create_app(settings)
    with TestClient(app) as client:
        response = client.get("/collections/municipalities/items", params={"limit": 1000, "crs": "EPSG:3035"})
        _assert_unavailable(response, "items")
        assert "the query took too long (over 0.001 s)" in response.json()["description"]
        store = app.state.store
        with store.engine().connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1ms"
        with store.job_engine().connect() as conn:  # jobs (ingest, analyses) are not cut short
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
    with TestClient(create_app(area_vasta.settings)) as client:
        assert client.get("/collections/municipalities/items", params={"limit": 1000}).status_code == 200


def test_no_free_connection_is_a_503_busy(area_vasta):
    settings = area_vasta.settings.model_copy(update={"pool_size": 1, "pool_overflow": 0, "pool_timeout_s": 0.2})
    app = create_app(settings)
    with TestClient(app) as client:
        engine = app.state.store.engine()
        query = "/collections/provinces/items?limit=3&filter=cod_uts%20%3C%3E%20%27000%27"  # read from the store
        with engine.connect():  # the only connection, held
            response = client.get(query)
            _assert_unavailable(response, "items")
            assert response.json()["description"] == "the service is busy; retry shortly"
        assert client.get(query).status_code == 200


@pytest.mark.parametrize("path", ["/collections/provinces/items?f=csv", "/collections/provinces/items?f=gpkg"])
def test_exports_beyond_their_slots_are_a_503_not_a_queue(area_vasta, path):
    settings = area_vasta.settings.model_copy(update={"export_workers": 1})
    app = create_app(settings)
    with TestClient(app) as client:
        release = app.state.store.take_export_slot()
        response = client.get(path)
        _assert_unavailable(response, path)
        assert response.json()["description"] == "every export slot (1) is taken; retry shortly"
        assert client.get("/downloads/priorities.xlsx").status_code == 503
        assert client.get("/collections/provinces/items?limit=2").status_code == 200  # other requests go on
        release()
        for _ in range(3):  # a finished export, and a refused one, give their slot back
            assert client.get(path).status_code == 200
            assert client.get(f"{path}&filter=nope%3D1").status_code == 400
