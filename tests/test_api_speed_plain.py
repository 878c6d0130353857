"""Plain requests (one feature, a page with limit/offset/bbox, a tile with no parameter) built by the layer before
the framework (api.hits) are the routes' very answers; anything else reaches the routes."""

import morecantile
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.hits import CachedHits
from api.ogc import features
from api.ogc.collections import COLLECTIONS
from tests.asgi_counting import Counting

TMS = morecantile.tms.get("WebMercatorQuad")
PLAIN = [c.id for c in COLLECTIONS.values() if features.prepared(c)]
HEADERS = ({}, {"Accept-Encoding": "gzip"})


def _layer(app):
    layer = app.middleware_stack
    while not isinstance(layer, CachedHits):
        layer = layer.app
    return layer


@pytest.fixture(scope="module")
def clients(results):
    """The service as deployed (a plain request built by the layer) and one whose layer never answers (every
    request built by the routes), each with its own cache, on the same store."""
    fast_app, routes_app = create_app(results.settings), create_app(results.settings)
    with TestClient(fast_app) as fast, TestClient(routes_app) as routes:
        for app, client in ((fast_app, fast), (routes_app, routes)):
            client.get("/health")
            assert app.state.store.watch.wait_for(None) is not None
        layer = _layer(fast_app)
        layer.app = inner = Counting(layer.app)
        _layer(routes_app).store = type("NoVersion", (), {"watch": None})()
        yield fast, routes, inner


def _raw(response):
    return response.status_code, response.content, response.headers.multi_items()


def _same(clients, url, headers=None, plain=True):
    fast, routes, inner = clients
    before = inner.calls
    ours = fast.get(url, headers=headers or {})
    assert (inner.calls == before) is plain, url
    assert _raw(ours) == _raw(routes.get(url, headers=headers or {})), url
    return ours


@pytest.mark.parametrize("collection", PLAIN)
@pytest.mark.parametrize("headers", HEADERS)
def test_plain_requests_are_the_routes_answers(clients, collection, headers):
    _, routes, _ = clients
    ids = [f["id"] for f in routes.get(f"/collections/{collection}/items?limit=3").json()["features"]]
    assert ids, collection
    for fid in ids:
        _same(clients, f"/collections/{collection}/items/{fid}", headers)
    for query in ("", "?limit=2", "?limit=2&offset=1", "?offset=2", "?limit=20000", "?bbox=9.5,45.5,10.5,46"):
        _same(clients, f"/collections/{collection}/items{query}", headers)
    for tile in (TMS.tile(10.0, 45.5, 7), TMS.tile(9.6696, 45.6947, 12), TMS.tile(-40.0, -40.0, 9)):
        answer = _same(clients, f"/collections/{collection}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}", headers)
        assert answer.status_code in (200, 204)


def test_a_plain_answer_is_filed_where_the_routes_look(clients):
    fast, _, inner = clients
    url = "/collections/municipalities/items?limit=7&bbox=9.6,45.6,9.8,45.75"
    built = fast.get(url)
    before = inner.calls
    again = fast.get(url, headers={"Origin": "https://example.org"})  # through the stack
    assert inner.calls == before + 1 and again.headers["etag"] == built.headers["etag"]
    assert fast.get(url, headers={"If-None-Match": built.headers["etag"]}).status_code == 304


@pytest.mark.parametrize(
    "url",
    [
        "/collections/municipalities/items/999999",  # not found: the route's 404
        "/collections/roads/items/abc",
        "/collections/municipalities/items?limit=0",
        "/collections/municipalities/items?limit=",
        "/collections/municipalities/items?limit=2&limit=3",
        "/collections/municipalities/items?offset=20000000",
        "/collections/municipalities/items?bbox=1,2,3",
        "/collections/municipalities/items?bbox=10,46,9,45",
        "/collections/municipalities/items?bbox=9,45,10,46&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
        "/collections/municipalities/items?cod_uts=016",
        "/collections/municipalities/items?f=json",
        "/collections/municipalities/items/016024?crs=http://www.opengis.net/def/crs/EPSG/0/32632",
        "/collections/coverage/items?limit=2",  # bound to analysis runs
        "/collections/municipalities/tiles/WebMercatorQuad/3/9/0",  # off the grid
        "/collections/municipalities/tiles/WebMercatorQuad/30/0/0",
        "/collections/municipalities/tiles/NoSuchGrid/3/1/1",
        "/collections/municipalities/tiles/WebMercatorQuad/9/269/181?filter=cod_uts%3D%27016%27",
        "/collections/nothing/items",
    ],
)
def test_what_the_routes_answer(clients, url):
    _same(clients, url, plain=False)


def test_a_browser_asking_for_a_page_gets_the_routes_html(clients):
    answer = _same(clients, "/collections/municipalities/items?limit=2", {"Accept": "text/html"}, plain=False)
    assert answer.headers["content-type"].startswith("text/html")


def test_a_statement_cut_by_the_timeout_is_a_503_document(results):
    settings = results.settings.model_copy(update={"statement_timeout_ms": 1})
    app = create_app(settings)
    with TestClient(app) as client:
        client.get("/health")
        assert app.state.store.watch.wait_for(None) is not None
        tile = TMS.tile(10.0, 45.5, 6)
        answer = client.get(f"/collections/roads/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}")
        assert answer.status_code == 503 and answer.headers["retry-after"]
        assert answer.json()["code"] == "ServiceUnavailable"


def test_no_free_connection_is_a_503_busy(results):
    settings = results.settings.model_copy(update={"pool_size": 1, "pool_timeout_s": 0.2})
    app = create_app(settings)
    with TestClient(app) as client:
        client.get("/health")
        assert app.state.store.watch.wait_for(None) is not None
        assert client.get("/collections/municipalities/items/016024").status_code == 200
        slots = _layer(app)._reads._slots
        client.portal.call(slots.acquire)  # the only connection, held
        try:
            answer = client.get("/collections/municipalities/items/016025")
            assert answer.status_code == 503 and answer.headers["retry-after"]
            assert answer.json()["description"] == "the service is busy; retry shortly"
        finally:
            slots.release()
        assert client.get("/collections/municipalities/items/016025").status_code == 200


@pytest.mark.parametrize("offset", [0, 7, 40, 5000])
@pytest.mark.parametrize("bbox", ["9.6,45.6,9.8,45.75", "6,36,19,47.5", None])
def test_compiled_pages_match_the_general_statement(clients, bbox, offset):
    """The compiled page (its count from the page's own statement within a box) against the general one (a sort
    key that is the id's own order)."""
    fast, _, _ = clients
    query = f"limit=10&offset={offset}" + (f"&bbox={bbox}" if bbox else "")
    plain = fast.get(f"/collections/municipalities/items?{query}").json()
    general = fast.get(f"/collections/municipalities/items?{query}&sortby=pro_com_t").json()
    for key in ("numberMatched", "numberReturned", "features"):
        assert plain[key] == general[key], key
