"""Pre-encoded responses: served again without rebuilding, never stale after a run finishes, bounded in memory."""

import gzip

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from api.app import create_app
from api.http import Encoded, ResponseCache, accepts_gzip, entry_size
from api.version_watch import conninfo
from geo.analysis import coverage
from geo.ingest import boundaries
from tests.conftest import fresh_store

ITEMS = "/collections/municipalities/items?limit=5&sortby=-pro_com_t"


def test_a_finished_run_makes_the_next_answer_fresh(server, template):
    with fresh_store(server, template) as store:
        settings = store.settings
        boundaries.ingest(store.engine, boundaries.from_geopop(settings.geopop_year), ("019",), settings.working_crs)
        app = create_app(settings)
        with TestClient(app) as client:
            first = client.get(ITEMS)
            assert first.status_code == 200
            assert first.json()["features"][0]["properties"]["cod_uts"] == "019"
            built = len(app.state.store.cache)
            again = client.get(ITEMS)
            assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
            assert len(app.state.store.cache) == built  # served from the stored entry
            # another ingest run finishes: the very next request is fresh (a commit in this process forgets the
            # version at once; other processes' commits arrive by notification)
            # hits cost no store round trip once the listener vouches for a version (its thread connects beside
            # the requests: on a loaded machine it may not have yet)
            assert app.state.store.watch.wait_for(timeout=30) is not None
            boundaries.ingest(
                store.engine, boundaries.from_geopop(settings.geopop_year), ("019", "020"), settings.working_crs
            )
            fresh = client.get(ITEMS)
            assert fresh.json()["features"][0]["properties"]["cod_uts"] == "020"
            assert fresh.headers["etag"] != first.headers["etag"]
            stale = client.get(ITEMS, headers={"If-None-Match": first.headers["etag"]})
            assert stale.status_code == 200


def test_gzip_and_identity_are_the_same_bytes_with_their_own_tags(area_vasta):
    app = create_app(area_vasta.settings)
    with TestClient(app) as client:
        plain = client.get("/collections/provinces/items", headers={"Accept-Encoding": "identity"})
        packed = client.get("/collections/provinces/items", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
        assert packed.content == plain.content  # httpx decodes; the bytes underneath are the same document
        assert packed.headers["etag"] != plain.headers["etag"]
        for response, encoding in ((plain, "identity"), (packed, "gzip")):
            again = client.get(
                "/collections/provinces/items",
                headers={"If-None-Match": response.headers["etag"], "Accept-Encoding": encoding},
            )
            assert again.status_code == 304


def test_coverage_analysis_invalidates_the_map_page(layers):
    store, _ = layers
    coverage.analyze(store.engine)
    app = create_app(store.settings)
    with TestClient(app) as client:
        first = client.get("/maps/coverage")
        assert first.status_code == 200
        assert client.get("/maps/coverage").headers["etag"] == first.headers["etag"]
        coverage.analyze(store.engine)  # the page is built again (folium names its elements anew each time)
        assert client.get("/maps/coverage").headers["etag"] != first.headers["etag"]


@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3000), st.integers(0, 300)), max_size=60),
    st.integers(0, 20_000),
    st.integers(1, 10),
)
def test_the_cache_never_holds_more_than_its_size_and_keeps_the_newest(puts, max_bytes, max_entries):
    cache = ResponseCache(max_bytes, max_entries)
    for key, size, url_length in puts:
        entry = Encoded.of(b"x" * size, "text/plain")
        stored_key = ("v", f"{key}{'u' * url_length}")
        cache.put(stored_key, entry)
        held = sum(entry_size(k, e) for k, (e, _) in cache._entries.items())
        assert held == cache.held_bytes <= max_bytes and len(cache) <= max_entries
        if entry_size(stored_key, entry) <= max_bytes:
            assert cache.get(stored_key) is not None  # the newest entry always fits
    for entry, _ in cache._entries.values():
        assert gzip.decompress(entry.gzipped()) == entry.body


def test_error_answers_are_never_kept():
    cache = ResponseCache(1 << 20, 100)
    for status in (400, 404, 500, 503):
        cache.get_or_build(("v", f"/x{status}"), lambda s=status: Encoded.of(b"{}", "application/json", status=s))
    assert len(cache) == 0 and cache.held_bytes == 0
    cache.get_or_build(("v", "/tile"), lambda: Encoded.of(b"", "application/vnd.mapbox-vector-tile", status=204))
    assert len(cache) == 1  # an empty tile is an answer, not an error


def test_concurrent_requests_for_one_page_build_it_once():
    import threading
    import time

    cache = ResponseCache(1 << 20)
    built: list[int] = []

    def build():
        built.append(1)
        time.sleep(0.05)  # long enough for every thread to arrive while the first one builds
        return Encoded.of(b"page", "text/plain")

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build(("v", "u"), build))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1
    assert ResponseCache(0).get_or_build(("v", "u"), build).body == b"page" and len(built) == 2  # no cache: built


def test_client_errors_leave_nothing_behind(area_vasta):
    """600 distinct bad URLs of about 20 KB each (400 and 404): no entry, no lock, no byte kept for any of them."""
    app = create_app(area_vasta.settings)
    padding = "x" * 20_000
    with TestClient(app) as client:
        assert client.get("/collections/provinces/items").status_code == 200
        cache = app.state.store.cache
        before, held = len(cache), cache.held_bytes
        statuses: dict[int, int] = {}
        for i in range(300):
            for url in (f"/collections/provinces/items/{padding}{i}", f"/collections/provinces/items?{padding}{i}=1"):
                status = client.get(url).status_code
                statuses[status] = statuses.get(status, 0) + 1
        assert statuses == {404: 300, 400: 300}
        assert (len(cache), cache.held_bytes) == (before, held) and cache._building == {}


def test_distinct_good_urls_are_bounded_by_the_entry_setting(area_vasta):
    settings = area_vasta.settings.model_copy(update={"response_cache_entries": 20})
    app = create_app(settings)
    with TestClient(app) as client:
        for limit in range(1, 101):
            assert client.get(f"/collections/provinces/items?limit={limit}").status_code == 200
        assert len(app.state.store.cache) == 20


@pytest.mark.parametrize(
    ("header", "expected"),
    [("gzip", True), ("gzip;q=0", False), ("br, gzip;q=0.5", True), ("*", True), ("*;q=0", False), ("", False),
     ("identity", False), ("GZIP; q=1.0", True), ("gzip;q=abc", False)],
)  # fmt: skip
def test_gzip_only_where_the_client_accepts_it(header, expected):
    assert accepts_gzip(header) is expected


def test_a_cached_answer_costs_no_store_round_trip(area_vasta):
    app = create_app(area_vasta.settings)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with TestClient(app) as client:
        assert client.get("/collections/provinces/items").status_code == 200
        engine = app.state.store.engine()
        assert app.state.store.watch.wait_for(None) is not None
        client.get("/collections/provinces/items")  # built under the listener's version
        event.listen(engine, "before_cursor_execute", record)
        try:
            for _ in range(5):
                assert client.get("/collections/provinces/items").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert statements == []


def test_without_the_listener_the_version_is_read_per_request(server, template):
    with fresh_store(server, template) as store:
        settings = store.settings
        boundaries.ingest(store.engine, boundaries.from_geopop(settings.geopop_year), ("020",), settings.working_crs)
        app = create_app(settings)
        with TestClient(app) as client:
            assert [f["id"] for f in client.get("/collections/provinces/items").json()["features"]] == ["020"]
            app.state.store.watch.stop()
            app.state.store.watch._set(None)  # as when the listener has lost its connection
            boundaries.ingest(
                store.engine, boundaries.from_geopop(settings.geopop_year), ("019",), settings.working_crs
            )
            assert [f["id"] for f in client.get("/collections/provinces/items").json()["features"]] == ["019"]


def test_another_process_commit_arrives_by_notification(area_vasta):
    app = create_app(area_vasta.settings)
    with TestClient(app) as client:
        client.get("/collections/provinces/items")
        watch = app.state.store.watch
        before = watch.wait_for(None)
        with psycopg.connect(conninfo(area_vasta.settings.database_url), autocommit=True) as other:
            other.execute("UPDATE meta.ingest_run SET finished_at = finished_at + interval '1 second'")
        assert watch.wait_for(before, timeout=5) not in (None, before)


@pytest.mark.parametrize("cache_mb", [0, 1, 64])
@pytest.mark.parametrize("filtered", [False, True])  # built by the outermost layer, or by the routes
def test_an_answer_no_cache_keeps_is_compressed_fast(area_vasta, cache_mb, filtered):
    """Kept answers are gzipped once at level 6; an answer no cache keeps (the cache off, or the page larger than the
    whole cache) is gzipped fast (level 1), same bytes underneath. The gzip header's XFL byte says which: 4 for the
    fastest level, 0 for the default ones."""
    settings = area_vasta.settings.model_copy(update={"response_cache_mb": cache_mb})
    where = "&filter=cod_uts<>'x'" if filtered else ""
    with TestClient(create_app(settings)) as client:
        for limit in (200, 1000):  # about 0.35 and 1.1 MB
            url = f"/collections/municipalities/items?limit={limit}{where}"
            with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as raw:
                packed = b"".join(raw.iter_raw())
            plain = client.get(url, headers={"Accept-Encoding": "identity"}).content
            assert gzip.decompress(packed) == plain and len(plain) > 32 * 1024
            kept = len(plain) + len(packed) < cache_mb * 2**20
            assert packed[8] == (0 if kept else 4), (limit, len(plain))
