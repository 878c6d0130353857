"""Cache hits answered by the outermost layer (api.hits) carry the very status, body and headers the whole stack
sends for the same stored answer; requests it must not answer (an Origin, HEAD, a key needed) go through."""

import morecantile
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import URL

from api.app import create_app
from api.hits import URL_MEMO_CHARS, CachedHits
from tests.asgi_counting import Counting

TMS = morecantile.tms.get("WebMercatorQuad")
EMPTY_TILE = TMS.tile(-40.0, -40.0, 9)  # the South Atlantic: no municipality
BERGAMO = TMS.tile(9.6696, 45.6947, 9)
URLS = (
    "/collections/municipalities/items/016024",
    "/collections/municipalities/items?limit=10&bbox=9.6,45.6,9.8,45.75",
    "/collections/provinces/items?f=html",
    f"/collections/municipalities/tiles/WebMercatorQuad/{EMPTY_TILE.z}/{EMPTY_TILE.x}/{EMPTY_TILE.y}",
    f"/collections/municipalities/tiles/WebMercatorQuad/{BERGAMO.z}/{BERGAMO.x}/{BERGAMO.y}",
)
HEADERS = ({}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip;q=0"}, {"Accept": "text/html"})


@pytest.fixture(scope="module")
def served(area_vasta):
    app = create_app(area_vasta.settings)
    with TestClient(app) as client:
        client.get("/health")
        layer = app.middleware_stack
        while not isinstance(layer, CachedHits):  # below the framework's own error layers
            layer = layer.app
        assert type(layer.app).__name__ == "Protocol"  # above every layer of the application
        layer.app = inner = Counting(layer.app)
        assert app.state.store.watch.wait_for(None) is not None
        yield app, client, inner


def _raw(response):
    return response.status_code, response.read(), response.headers.multi_items()


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("headers", HEADERS)
def test_a_hit_is_what_the_whole_stack_sends(served, url, headers, monkeypatch):
    app, client, inner = served
    built = client.get(url, headers=headers)  # the first answer is built (or found) by the routes
    assert built.status_code in (200, 204)
    before = inner.calls
    with client.stream("GET", url, headers=headers) as hit:
        fast = _raw(hit)
    assert inner.calls == before  # answered by the outermost layer
    monkeypatch.setattr(app.state.store.watch, "current", lambda: None)  # the stack reads the version itself
    with client.stream("GET", url, headers=headers) as through:
        assert fast == _raw(through)
    assert inner.calls == before + 1
    for tag in (built.headers["etag"], "*"):
        monkeypatch.undo()
        asked = {**headers, "If-None-Match": f'"x", {tag}'}
        calls = inner.calls
        revalidated = client.get(url, headers=asked)
        assert inner.calls == calls and revalidated.status_code == 304
        monkeypatch.setattr(app.state.store.watch, "current", lambda: None)
        with client.stream("GET", url, headers=asked) as through:
            assert _raw(revalidated) == _raw(through)


@pytest.mark.parametrize(
    ("method", "headers"),
    [("GET", {"Origin": "https://example.org"}), ("HEAD", {})],
)
def test_what_the_layer_leaves_to_the_stack(served, method, headers):
    _, client, inner = served
    url = URLS[0]
    assert client.get(url).status_code == 200
    before = inner.calls
    answer = client.request(method, url, headers=headers)
    assert answer.status_code == 200 and inner.calls == before + 1
    if "Origin" in headers:
        assert answer.headers["access-control-allow-origin"] == "*"
    if method == "HEAD":
        assert answer.content == b"" and int(answer.headers["content-length"]) > 0


def test_a_nul_byte_is_refused_before_the_cache(served):
    _, client, _ = served
    assert client.get(URLS[0] + "?f=json%00").status_code == 400


def test_no_hit_without_public_reading(area_vasta):
    settings = area_vasta.settings.model_copy(update={"public_read": False})
    with TestClient(create_app(settings)) as client:
        assert client.get(URLS[0]).status_code == 401
        assert client.get(URLS[0]).status_code == 401


HOSTS = st.one_of(st.none(), st.sampled_from([b"example.org", b"example.org:8080", b"[::1]:81", b"bad host:x"]))
SERVERS = st.one_of(st.none(), st.sampled_from([("127.0.0.1", 80), ["10.0.0.1", 8000], ("::1", 443)]))


@settings(max_examples=300, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["http", "https"]),
            HOSTS,
            SERVERS,
            st.one_of(st.text(alphabet="/ab?#\\%é", max_size=12), st.just("é" * 600)).map(lambda p: "/" + p),
            st.text(alphabet="a=&%,", max_size=8).map(str.encode),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_remembered_url_is_starlettes(calls):
    """The layer files answers under the URL text the routes use (``str(request.url)``), remembered per request."""
    layer = CachedHits.__new__(CachedHits)
    layer._urls = {}
    for scheme, host, server, path, query in calls * 2:  # each twice: once built, once remembered
        scope = {"type": "http", "scheme": scheme, "server": server, "path": path, "query_string": query}
        scope["headers"] = [(b"host", host)] if host is not None else []
        assert layer._url(scope, host) == str(URL(scope=scope))
    assert all(len(path) <= URL_MEMO_CHARS for _, _, _, path, _ in layer._urls)  # long URLs are not remembered
