"""Pre-encoded responses: a page is built (SQL, GeoJSON, HTML) once per state of the data and then served as
stored bytes, gzipped once, with a strong ETag and 304 answers to conditional requests.

The key is the request URL plus the data version, which moves whenever an ingest or analysis run finishes; the
version is read before the data, so a page built while a run finishes is filed under the older version and never
served after it. Entries are evicted least recently used beyond the configured size and number; error answers are
built for each request and never kept.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, Engine

from api import jsonio
from geo.db import data_version

ONE_VARIANT = "*"  # the key's variant for answers that do not depend on Accept (tiles, maps)
GZIP_FROM_BYTES = 1024  # smaller bodies gain nothing from compression
GZIP_LEVEL = 6  # an answer the cache keeps is compressed once, and its smaller body goes out on every hit
GZIP_LEVEL_ONCE = 1  # an answer sent once and not kept: 3-4x faster, 15-20 % larger (nginx's default gzip_comp_level)


def base_url(request: Request) -> str:
    """The service's address as the client reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def etag_of(body: bytes) -> str:
    """A strong ETag: the quoted BLAKE2b-128 hex digest of ``body``."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@dataclass
class Encoded:
    """A response body as stored: bytes, media type, extra headers, ETag, and its gzip form once asked for."""

    body: bytes
    media_type: str
    headers: dict[str, str]
    etag: str
    _gzip: bytes | None = field(default=None, repr=False)
    status: int = 200  # 204 for an empty tile
    wire: dict[bool, Any] = field(default_factory=dict, repr=False, compare=False)  # api.hits: as sent, by gzip
    gzip_level: int = field(default=GZIP_LEVEL, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        """The bytes it holds: body, gzip form (once made) and headers."""
        headers = sum(len(k) + len(v) for k, v in self.headers.items())
        return len(self.body) + (len(self._gzip) if self._gzip is not None else 0) + headers

    @property
    def compressed(self) -> bool:
        """Whether its gzip form is made."""
        return self._gzip is not None

    @property
    def cacheable(self) -> bool:
        """Success answers only: an error page kept per URL would let invented URLs fill the memory."""
        return self.status < 400

    @classmethod
    def json(cls, body: object, media_type: str = "application/json") -> Encoded:
        """A document the service encodes itself."""
        return cls.of(jsonio.dumps(body), media_type)

    @classmethod
    def of(
        cls, body: str | bytes, media_type: str, headers: dict[str, str] | None = None, status: int = 200
    ) -> Encoded:
        """An answer of ``body`` (text encoded as UTF-8) with its ETag."""
        data = body.encode() if isinstance(body, str) else body
        return cls(data, media_type, headers or {}, etag_of(data), status=status)

    def gzipped(self) -> bytes:
        """The body gzipped (without a timestamp: the same bytes each time), made on the first call and kept."""
        if self._gzip is None:
            self._gzip = gzip.compress(self.body, self.gzip_level, mtime=0)
        return self._gzip

    def sent_once(self) -> Encoded:
        """This answer, marked as one no cache keeps: compressed fast if at all."""
        if self._gzip is None:
            self.gzip_level = GZIP_LEVEL_ONCE
        return self

    def response(self, request: Request) -> Response:
        """The body, gzipped when the client accepts it, or an empty 304 when the client already holds it."""
        compress = len(self.body) >= GZIP_FROM_BYTES and accepts_gzip(request.headers.get("accept-encoding", ""))
        tag = self.etag[:-1] + '-gzip"' if compress else self.etag  # one strong tag per representation
        headers = {**self.headers, "ETag": tag, "Cache-Control": "no-cache", "Vary": "Accept, Accept-Encoding"}
        wanted = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
        if tag in wanted or "*" in wanted:
            return Response(status_code=304, headers=headers)
        if self.status == 204:
            return Response(status_code=204, headers=headers)
        if compress:
            return Response(
                self.gzipped(), self.status, {**headers, "Content-Encoding": "gzip"}, media_type=self.media_type
            )
        return Response(self.body, self.status, headers, media_type=self.media_type)


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (``gzip;q=0`` refuses it; ``*`` admits it)."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name:
            weights[name.strip().lower()] = quality
    return weights.get("gzip", weights.get("*", 0.0)) > 0


class ResponseCache:
    """Encoded successful responses by key, least recently used evicted beyond ``max_bytes`` or ``max_entries``
    (0 bytes: nothing is kept).

    An entry's size counts its key (the URL, which a client chooses) and its gzip form as well as its body, so
    that many long distinct URLs cannot grow memory past the bound; error answers are never kept (a client could
    otherwise file one per URL it invents).
    """

    def __init__(self, max_bytes: int, max_entries: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[Encoded, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}

    @property
    def _most_entries(self) -> int:
        return len(self._entries) if self.max_entries is None else self.max_entries

    @property
    def held_bytes(self) -> int:
        """The bytes the entries hold, as ``entry_size`` counts them."""
        return self._bytes

    def get(self, key: tuple[str, str]) -> Encoded | None:
        """The entry of ``key``, marked most recently used, or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    @property
    def enabled(self) -> bool:
        """Whether the cache keeps anything at all (0 bytes or 0 entries: every answer is built and sent once)."""
        return self.max_bytes != 0 and self.max_entries != 0

    def would_keep(self, key: tuple[str, str], entry: Encoded) -> bool:
        """Whether ``put`` could keep the entry: a success answer within the bounds (counted before its gzip form)."""
        if not entry.cacheable or not self.enabled:
            return False
        return entry_size(key, entry) <= self.max_bytes

    def put(self, key: tuple[str, str], entry: Encoded) -> Encoded:
        """Keep a successful ``entry`` unless it alone exceeds the size bound, evicting the least recently used; returns
        the entry already kept for ``key`` if there is one, else ``entry``."""
        if not self.would_keep(key, entry):
            return entry.sent_once()
        if len(entry.body) >= GZIP_FROM_BYTES:
            entry.gzipped()  # compressed now, so that its size is counted (nearly every client asks for it)
        size = entry_size(key, entry)
        if size > self.max_bytes:
            return entry
        with self._lock:
            if key in self._entries:
                return self._entries[key][0]
            self._entries[key] = (entry, size)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self._most_entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
        return entry

    def get_or_build(self, key: tuple[str, str], build: Callable[[], Encoded]) -> Encoded:
        """The stored entry, or the one ``build`` makes; concurrent requests for one key build it once."""
        if not self.enabled:
            return build().sent_once()
        entry = self.get(key)
        if entry is not None:
            return entry
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        try:
            with building:
                entry = self.get(key) or self.put(key, build())
        finally:  # a build that fails (a 4xx for this URL) must not leave its lock behind: one per URL would leak
            with self._lock:
                self._building.pop(key, None)
        return entry

    def __len__(self) -> int:
        return len(self._entries)


ENTRY_OVERHEAD_BYTES = 512  # the Python objects around an entry's bytes (dicts, headers, tuples)


def entry_size(key: tuple[str, str], entry: Encoded) -> int:
    """The memory an entry holds: its key (a URL the client chose) and its bytes."""
    return ENTRY_OVERHEAD_BYTES + len(key[0]) + len(key[1]) + entry.nbytes


def cached(
    request: Request, engine: Engine, build: Callable[[Connection], Encoded], variant: str | None = None
) -> Response:
    """The response for this URL (and ``variant``: the representation negotiated from Accept, ``""`` or
    ``"html"``; None for a resource with one representation whatever Accept says) at the current data version,
    built by ``build`` only when not stored yet.

    The version is read on a connection of its own, returned before building, so that builders which open their
    own connections (the maps) never wait on a pool this request already drained.
    """
    store = request.app.state.store
    version = store.watch.current() if store.watch is not None else None
    if version is None:  # the listener cannot vouch for the version: ask the store
        with engine.connect() as conn:
            version = data_version.read(conn)
    key = (version, f"{ONE_VARIANT if variant is None else variant} {request.url}")

    def build_now() -> Encoded:
        with engine.connect() as conn:
            return build(conn)

    return store.cache.get_or_build(key, build_now).response(request)
