"""Request dependencies: the store engine, opened lazily and shared by the application."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from api.http import ResponseCache
from api.ogc.errors import bad_request
from api.version_watch import VersionWatch
from geo.db.engine import database_url, make_engine
from geo.settings import Settings


class StoreState:
    """Holds the application's engine; the first request opens it, so the app starts even while the store is down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self.watch: VersionWatch | None = None
        self._lock = threading.Lock()
        self.cache = ResponseCache(settings.response_cache_mb * 2**20, settings.response_cache_entries)
        # jobs run one at a time: two ingests must not race for the same tables
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="areavasta-job")

    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                url = database_url(self.settings)
                self._engine = make_engine(url)
                self.watch = VersionWatch(url)
                self.watch.start()
            return self._engine

    def dispose(self) -> None:
        self.executor.shutdown(wait=True)
        if self.watch is not None:
            self.watch.stop()
        if self._engine is not None:
            self._engine.dispose()


def get_engine(request: Request) -> Engine:
    return request.app.state.store.engine()


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_DECLARED: dict[str, frozenset[str]] = {}  # query parameters by route (its unique id)


def _declared_parameters(route: APIRoute) -> frozenset[str]:
    names = _DECLARED.get(route.unique_id)
    if names is None:
        names = _DECLARED[route.unique_id] = frozenset(_query_names(route.dependant))
    return names


def single_values(request: Request) -> None:
    """A parameter a route takes once, sent more than once, is refused rather than read as its last value (the
    items' property filters, which a route does not declare, take any of their values)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, n in counts.items() if n > 1 and key in _declared_parameters(route))
    if repeated:
        raise bad_request(repeated[0], "given more than once; it takes one value")
