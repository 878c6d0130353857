"""The serving path before the framework: the outermost layer of the application answers a GET without FastAPI's
routing, dependencies, parameter validation, thread pool and middleware layers, when

- reading is public and the listener vouches for the data version (api.version_watch: no store round trip),
- the request carries no ``Origin`` (the CORS layer answers those, through the whole stack), and no NUL byte;

and either the response cache holds the answer (sent with header lists built once per stored answer), or the
request is a plain one, built here on the event loop with one statement compiled once (api.ogc.features and
api.ogc.tiles; api.reads): one feature, a page with at most ``limit``, ``offset`` and ``bbox``, or a tile with no
parameter, of a collection not bound to analysis runs, as JSON. The answer is the routes' own (the same compiled
statements and document builders), filed in the cache under the same key; anything else, a feature that is not
found and a parameter the routes would refuse included, goes on to the application unchanged.

The headers are those the whole stack would send for the same entry (api.http.Encoded.response, then the CORS
layer's ``Vary: Origin``). A stored answer ready as asked (``CachedHits.ready``) is written by the HTTP protocol
itself (api.server), before any ASGI work; this layer answers the rest of what it can.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from starlette.datastructures import URL, QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import jsonio
from api.deps import StoreState
from api.http import GZIP_FROM_BYTES, ONE_VARIANT, Encoded, accepts_gzip
from api.ogc import features, spatial, tiles
from api.ogc.collections import COLLECTIONS, Collection
from api.ogc.errors import OGCError, busy
from api.reads import Busy, Reads
from api.version_watch import conninfo
from geo.crs import crs_info

log = logging.getLogger(__name__)
HEADER_CACHE = 256  # distinct Accept / Accept-Encoding values remembered (clients send a handful)
VARY = "Accept, Accept-Encoding, Origin"  # Encoded.response's Vary, and the CORS layer's Origin after it
INLINE_GZIP_BYTES = 32 * 1024  # larger bodies are compressed in a thread, not on the event loop
ASKED = (b"accept", b"accept-encoding", b"if-none-match")  # the request headers an answer depends on
URL_MEMO = 4096  # request URLs remembered as text (starlette's URL takes several µs to build one)
URL_MEMO_CHARS = 512  # longer paths and queries are built each time: invented long URLs cannot fill the memory
PAGE_PARAMETERS = frozenset({"limit", "offset", "bbox", "version"})
NUMBER = re.compile(r"[0-9]{1,9}")
MAX_OFFSET = 10_000_000  # as the items route
MAX_COORDINATE = 2**30  # as the tile route
CRS84 = crs_info(None)
TOO_LONG = Encoded.of(b"", "application/json", status=503)  # a plain request cut by the statement timeout
BUSY = Encoded.of(b"", "application/json", status=503)  # no connection free within the pool's wait


@dataclass(frozen=True)
class Wire:
    """One representation of a stored answer as sent: status, body and header lists (and those of its 304)."""

    tag: bytes
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]
    not_modified: list[tuple[bytes, bytes]]


def wire(entry: Encoded, compress: bool) -> Wire:
    """The answer Encoded.response gives, with the CORS layer's Vary, as raw header lists (built once per entry)."""
    found = entry.wire.get(compress)
    if found is not None:
        return found  # type: ignore[no-any-return]
    tag = entry.etag[:-1] + '-gzip"' if compress else entry.etag
    common = [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in {**entry.headers, "ETag": tag, "Cache-Control": "no-cache", "Vary": VARY}.items()
    ]
    if entry.status == 204:
        made = Wire(tag.encode(), 204, b"", common, common)
    else:
        body = entry.gzipped() if compress else entry.body
        media_type = entry.media_type
        if media_type.startswith("text/") and "charset=" not in media_type.lower():
            media_type += "; charset=utf-8"
        headers = [
            *common,
            *([(b"content-encoding", b"gzip")] if compress else []),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media_type.encode("latin-1")),
        ]
        made = Wire(tag.encode(), entry.status, body, headers, common)
    entry.wire[compress] = made
    return made


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, header list and body as sent


def answer(sent: Wire, tags: bytes) -> Answer:
    """The stored answer as sent, or its 304 when ``If-None-Match`` names its tag (or ``*``)."""
    if tags and (sent.tag in (wanted := {t.strip() for t in tags.split(b",")}) or b"*" in wanted):
        return 304, sent.not_modified, b""
    return sent.status, sent.headers, sent.body


def _gzip_in_thread(entry: Encoded) -> bool:
    """Whether the entry's gzip form is still to make and too large to make on the event loop."""
    return not entry.compressed and len(entry.body) > INLINE_GZIP_BYTES


@dataclass(frozen=True)
class Look:
    """What a GET asks of this layer: the data version and URL its answer is filed under, the representation, the
    request headers the answer depends on, and the stored answer if there is one."""

    version: str
    html: bool
    url: str
    encoding: bytes  # Accept-Encoding
    tags: bytes  # If-None-Match
    entry: Encoded | None


@dataclass(frozen=True)
class Plain:
    """A plain request this layer builds: what, of which collection, and the variant its route files it under."""

    kind: str  # item, page or tile
    collection: Collection
    parts: tuple[str, ...]  # the path's segments after the collection's
    variant: str


def plain_request(path: str, query: bytes) -> Plain | None:
    """The plain request a path and query make, or None for anything the routes must answer."""
    parts = path.split("/")
    if len(parts) < 4 or parts[0] or parts[1] != "collections":
        return None
    collection = COLLECTIONS.get(parts[2])
    if collection is None or not features.prepared(collection):
        return None
    rest = tuple(parts[3:])
    if rest[0] == "items" and len(rest) == 1:
        return Plain("page", collection, rest, "")
    if query:
        return None
    if rest[0] == "items" and len(rest) == 2 and rest[1]:
        return Plain("item", collection, rest, "")
    if rest[0] == "tiles" and len(rest) == 5 and all(NUMBER.fullmatch(v) for v in rest[2:]):
        return Plain("tile", collection, rest, ONE_VARIANT)
    return None


class CachedHits:
    """ASGI middleware, outermost: stored answers for this URL and representation go out at once, plain requests
    are built here."""

    def __init__(self, app: ASGIApp, store: StoreState) -> None:
        self.app = app
        self.store = store
        self._gzip: dict[bytes, bool] = {}
        self._html: dict[bytes, bool] = {}
        self._reads: Reads | None = None
        self._building: dict[tuple[str, str], asyncio.Future[Encoded | None]] = {}
        self._versions: dict[tuple[str, str], int] = {}  # (collection, data version): features.version_of
        self._urls: dict[tuple[Any, ...], str] = {}
        store.ready_answer = self.ready  # for the HTTP protocol (api.server)

    def _remember(self, memo: dict[bytes, bool], value: bytes, decide: bool) -> bool:
        if len(memo) >= HEADER_CACHE:
            memo.clear()
        memo[value] = decide
        return decide

    def _wants_gzip(self, value: bytes) -> bool:
        found = self._gzip.get(value)
        if found is None:
            return self._remember(self._gzip, value, accepts_gzip(value.decode("latin-1")))
        return found

    def _wants_html(self, accept: bytes) -> bool:
        found = self._html.get(accept)
        if found is None:  # api.ogc.html.wants_html for a request without f
            text = accept.decode("latin-1")
            html, json = text.find("text/html"), text.find("json")
            return self._remember(self._html, accept, html >= 0 and (json < 0 or html < json))
        return found

    def look(self, scope: Scope) -> Look | None:
        """What a GET asks of this layer and the stored answer for it, if any; None when the layer must leave the
        request to the application (no vouched data version, a key needed, an ``Origin``, a NUL byte)."""
        watch = self.store.watch
        version = watch.current() if watch is not None else None
        query = scope["query_string"]
        if (
            version is None
            or not self.store.settings.public_read
            or b"%00" in query
            or b"\x00" in query
            or "\x00" in scope["path"]
        ):
            return None
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name == b"origin":
                return None
            if name in ASKED or name == b"host":
                found.setdefault(name, value)  # the first, as Starlette's Headers.get and URL
        accept, encoding, tags = (found.get(name, b"") for name in ASKED)
        if b"f=" in query:
            f = QueryParams(query).get("f")
            html = f == "html" if f is not None else self._wants_html(accept)
        else:
            html = self._wants_html(accept)
        url = self._url(scope, found.get(b"host"))
        cache = self.store.cache
        entry = cache.get((version, f"{'html' if html else ''} {url}")) or cache.get((version, f"{ONE_VARIANT} {url}"))
        return Look(version, html, url, encoding, tags, entry)

    def _url(self, scope: Scope, host: bytes | None) -> str:
        """The request's URL as the routes file it (``str(request.url)``), built once per distinct request."""
        path, query, server = scope["path"], scope.get("query_string", b""), scope.get("server")
        if len(path) + len(query) + len(host or b"") > URL_MEMO_CHARS:
            return str(URL(scope=scope))
        key = (scope.get("scheme"), host, tuple(server) if server is not None else None, path, query)  # or a list
        found = self._urls.get(key)
        if found is None:
            if len(self._urls) >= URL_MEMO:
                self._urls.clear()
            found = self._urls[key] = str(URL(scope=scope))
        return found

    def ready(self, scope: Scope) -> Answer | None:
        """The answer to a GET when the cache holds it in the form asked, with no store round trip and no thread to
        wait for: what the HTTP protocol (api.server) writes at once, before any ASGI work."""
        look = self.look(scope)
        if look is None or look.entry is None:
            return None
        compress = self._compress(look.entry, look.encoding)
        if compress and _gzip_in_thread(look.entry):
            return None  # compressed in a thread by __call__, once
        return answer(wire(look.entry, compress), look.tags)

    def _compress(self, entry: Encoded, encoding: bytes) -> bool:
        return len(entry.body) >= GZIP_FROM_BYTES and bool(encoding) and self._wants_gzip(encoding)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the stored answer (or a 304) for a GET of this URL and representation when the data version is known,
        building plain requests here; pass everything else on."""
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing(receive), send)
            return
        look = self.look(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if look is None:
            await self.app(scope, receive, send)
            return
        entry = look.entry
        if entry is None:
            plain = plain_request(scope["path"], scope["query_string"])
            if plain is not None and (not look.html or plain.variant == ONE_VARIANT):
                entry = await self._plain(plain, scope, (look.version, f"{plain.variant} {look.url}"), look.url)
                if entry is TOO_LONG or entry is BUSY:
                    await self._unavailable(send, entry is BUSY)
                    return
        if entry is None:
            await self.app(scope, receive, send)
            return
        compress = self._compress(entry, look.encoding)
        if compress and _gzip_in_thread(entry):
            await asyncio.to_thread(entry.gzipped)
        status, headers, body = answer(wire(entry, compress), look.tags)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _closing(self, receive: Receive) -> Receive:
        """``receive`` of the lifespan, closing this layer's connections when the server shuts down."""

        async def closing() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown" and self._reads is not None:
                self._reads.close()
            return message

        return closing

    async def _plain(self, plain: Plain, scope: Scope, key: tuple[str, str], url: str) -> Encoded | None:
        """The answer to a plain request, built once for concurrent requests of one key and filed in the cache;
        TOO_LONG when the statement timeout cut it, BUSY when no connection came free in time; None when the
        routes must answer (not found, a value they refuse, the store failing)."""
        cache = self.store.cache
        keeps = cache.enabled
        building = self._building.get(key) if keeps else None  # without a cache, every request builds (api.http)
        if building is not None:
            return await asyncio.shield(building)
        future: asyncio.Future[Encoded | None] = asyncio.get_running_loop().create_future()
        if keeps:
            self._building[key] = future
        entry: Encoded | None = None
        try:
            entry = await self._build(plain, scope, url, key[0])
            if entry is not None and not cache.would_keep(key, entry):
                entry.sent_once()
            elif entry is not None:
                if _gzip_in_thread(entry):
                    await asyncio.to_thread(entry.gzipped)  # the cache keeps the gzip form beside the body
                entry = cache.put(key, entry)
        except psycopg.errors.QueryCanceled:
            entry = TOO_LONG  # not again through the routes: the timeout bounds a request's work
        except Busy:
            entry = BUSY
        except (OGCError, psycopg.Error, OSError) as exc:  # the routes answer, with their error documents
            log.debug("plain request left to the routes: %s", exc)
            entry = None
        except Exception:  # a fault of this layer must not cost the answer: the routes give it
            log.exception("plain request left to the routes")
            entry = None
        finally:
            future.set_result(entry)
            self._building.pop(key, None)
        return entry

    async def _version(self, collection: Collection, data_version: str) -> int:
        """``features.version_of`` the collection, read once per data version (read before the page: a load
        committed in between makes the next page a 409, never a mixed traversal)."""
        key = (collection.id, data_version)
        found = self._versions.get(key)
        if found is None:
            assert self._reads is not None
            found = int((await self._reads.rows(features.VERSION_SQL, {"layers": list(collection.layers)}))[0][0])
            if len(self._versions) >= HEADER_CACHE:
                self._versions.clear()
            self._versions[key] = found
        return found

    async def _build(self, plain: Plain, scope: Scope, url: str, data_version: str) -> Encoded | None:
        if self._reads is None:
            engine_url = self.store.engine().url.render_as_string(hide_password=False)
            self._reads = Reads(conninfo(engine_url), self.store.settings)
        reads, collection = self._reads, plain.collection
        if plain.kind == "tile":
            _, tms_id, z, x, y = plain.parts
            where = tiles.address(tms_id, *(int(v) for v in (z, x, y)))
            compiled = tiles.tile_template(collection.id, tms_id)
            tile = bytes((await reads.rows(compiled.sql, compiled.bind(**tiles.place(where))))[0][0])
            return Encoded.of(tile, tiles.MEDIA_TYPE, status=200 if tile else 204)
        headers = {"Content-Crs": f"<{CRS84.uri}>"}
        if plain.kind == "item":
            value = features.feature_key(collection, plain.parts[1])
            if value is None:
                return None
            compiled = features.item_template(collection.id, CRS84)
            one = await reads.rows(compiled.sql, compiled.bind(fid=value))
            if not one:
                return None
            feature = features.feature_text(compiled.values(one[0]), collection.properties)
            base = str(Request(scope).base_url).rstrip("/")
            body = features.feature_body(feature, url, f"{base}/collections/{collection.id}")
            return Encoded.of(body, features.GEOJSON, headers)
        values = self._page_values(scope["query_string"])
        if values is None:
            return None
        given, pinned = values.pop("version", None), None
        if collection.layers:  # a stale version is a 409: raised here, answered by the routes (see _plain)
            pinned = features.version_pin(collection, given, await self._version(collection, data_version))
        template = features.page_template(collection.id, CRS84, "bbox" in values)
        rows = [template.rows.values(row) for row in await reads.rows(template.rows.sql, template.rows.bind(**values))]
        found, matched = template.read(rows, values["limit"], values["offset"])
        if matched is None:
            matched = (await reads.rows(template.count.sql, template.count.bind(**values)))[0][0]
        page = [features.feature_text(row, collection.properties) for row in found]
        body = features.page_body(URL(scope=scope), page, matched, values["offset"], values["limit"], pinned)
        return Encoded.of(body, features.GEOJSON, headers)

    def _page_values(self, query: bytes) -> dict[str, Any] | None:
        """The parameters of a page as the items route reads them (None: anything it would read otherwise)."""
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        given = dict(pairs)
        if len(given) != len(pairs) or not given.keys() <= PAGE_PARAMETERS:
            return None  # repeated (refused) or other parameters (filters, output CRS, formats…)
        settings = self.store.settings
        limit, offset = given.get("limit"), given.get("offset", "0")
        if (limit is not None and not NUMBER.fullmatch(limit)) or not NUMBER.fullmatch(offset):
            return None
        values: dict[str, Any] = {
            "limit": min(int(limit), settings.items_max_limit) if limit else settings.items_default_limit,
            "offset": int(offset),
        }
        if values["limit"] < 1 or values["offset"] > MAX_OFFSET:
            return None
        if "version" in given:
            if not NUMBER.fullmatch(given["version"]):
                return None
            values["version"] = int(given["version"])
        if "bbox" in given:
            box = features.parse_bbox(given["bbox"])
            assert box is not None
            values["bbox"] = spatial.envelope_ewkb(*box, CRS84, "bbox")
        return values

    async def _unavailable(self, send: Send, busy_pool: bool) -> None:
        """The 503 the routes answer (api.ogc.errors) for a statement cut by the timeout or a busy pool."""
        if busy_pool:
            description = "the service is busy; retry shortly"
        else:
            limit = self.store.settings.statement_timeout_ms / 1000
            description = f"the query took too long (over {limit:g} s); narrow it (bbox, filter, limit) or retry later"
        error = busy(description)
        body = jsonio.dumps({"code": error.code, "description": error.description}).encode()
        headers = [
            *((k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
            (b"vary", b"Origin"),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
