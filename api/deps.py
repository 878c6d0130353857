"""Request dependencies: the store engine, opened lazily and shared by the application."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from api.auth import KeyGuard
from api.http import ResponseCache
from api.ogc import cql
from api.ogc.errors import bad_request, busy
from api.version_watch import VersionWatch
from geo.db.cluster import ClusterError
from geo.db.engine import EngineLimits, StoreError, database_url, make_engine, write_url
from geo.db.orphans import mark_orphans
from geo.settings import Settings

if TYPE_CHECKING:
    from starlette.types import Scope

    from api.hits import Answer

log = logging.getLogger(__name__)
ORPHAN_SWEEP_S = 600  # how often a running server looks for runs that dead processes left running


class StoreState:
    """Holds the application's engines; the first request opens them, so the app starts even while the store is
    down. Requests use an engine whose statements are bounded in time; background jobs one of their own without
    that bound (an ingest runs as long as it needs) and without taking connections from the requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._job_engine: Engine | None = None
        self.watch: VersionWatch | None = None
        # the stored answer to a GET, if ready without waiting (api.hits.CachedHits.ready, set when the application's
        # layers are built): the HTTP protocol writes it itself (api.server)
        self.ready_answer: Callable[[Scope], Answer | None] | None = None
        self._lock = threading.Lock()
        self.cache = ResponseCache(settings.response_cache_mb * 2**20, settings.response_cache_entries)
        # jobs run one at a time: two ingests must not race for the same tables
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="areavasta-job")
        self.exports = threading.BoundedSemaphore(settings.export_workers)
        # map pages are built here, a few at a time: a burst of first views queues without starving other requests
        self.map_builds = ThreadPoolExecutor(max_workers=settings.map_workers, thread_name_prefix="areavasta-map")
        self.key_guard = KeyGuard(settings.key_failures_per_minute)
        self.stopping = threading.Event()

    def engine(self) -> Engine:
        """The engine for requests, opened on first use: opening it starts the version watch and the sweep of runs left
        running by dead processes."""
        with self._lock:
            opened = self._engine is None
            if self._engine is None:
                url = database_url(self.settings)
                self._engine = make_engine(url, EngineLimits.serving(self.settings))
                self.watch = VersionWatch(url, notify_url=write_url(self.settings))
                self.watch.start()
            engine = self._engine
        if opened:  # start-up, or the first request once the store is reachable
            self.reap_orphans()
            threading.Thread(target=self._sweep, name="areavasta-orphans", daemon=True).start()
        return engine

    def open(self) -> None:
        """Open the store at start-up if it can be reached (marking the runs of dead processes failed); a store
        that is down is opened by the first request after it is back."""
        try:
            self.engine()
        except (StoreError, ClusterError, DBAPIError) as exc:
            log.warning("data store not reachable at start-up: %s", exc)

    def reap_orphans(self, own: bool = False) -> None:
        """Mark failed the runs and jobs that dead processes left running (``own``: this process's too)."""
        if self._engine is None:
            return
        engine = self.job_engine()  # on the primary: a replica refuses writes
        try:
            for orphan in mark_orphans(engine, self.settings.run_timeout_h, own=own):
                log.warning("%s %s marked failed: %s", orphan.table, orphan.id, orphan.reason)
        except StoreError as exc:  # the primary is down: next time
            log.warning("runs left running not checked: %s", exc)
        except DBAPIError as exc:  # the store is down, or its schema older than 0014: next time
            log.warning("runs left running not checked: %s", str(exc.orig or exc).splitlines()[0])

    def _sweep(self) -> None:
        while not self.stopping.wait(ORPHAN_SWEEP_S):
            self.reap_orphans()

    def job_engine(self) -> Engine:
        """The engine for background jobs and writes, on the primary and without the requests' statement timeout (opened
        on first use)."""
        with self._lock:
            if self._job_engine is None:
                limits = EngineLimits.serving(self.settings, statements=False)
                self._job_engine = make_engine(write_url(self.settings), limits)
            return self._job_engine

    def dispose(self) -> None:
        """Stop the sweep, let the submitted jobs finish, drop the queued map builds, stop the version watch and close
        the engines."""
        self.stopping.set()
        self.executor.shutdown(wait=True)
        self.map_builds.shutdown(wait=False, cancel_futures=True)
        if self.watch is not None:
            self.watch.stop()
        for engine in (self._engine, self._job_engine):
            if engine is not None:
                engine.dispose()

    @contextmanager
    def export_slot(self) -> Iterator[None]:
        """One of the few slots for building a file; a 503 with Retry-After when every slot is taken (queueing
        would let parallel exports hold the server's threads and memory)."""
        if not self.exports.acquire(blocking=False):
            raise busy(f"every export slot ({self.settings.export_workers}) is taken; retry shortly")
        try:
            yield
        finally:
            self.exports.release()

    def take_export_slot(self) -> Callable[[], None]:
        """An export slot held past this call (a streamed file); returns its release, to be called once."""
        if not self.exports.acquire(blocking=False):
            raise busy(f"every export slot ({self.settings.export_workers}) is taken; retry shortly")
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self.exports.release()

        return release


def get_engine(request: Request) -> Engine:
    """The request engine of the application's store (dependency)."""
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
    """Checks of every request's parameters before its route runs: a parameter a route takes once, sent more than
    once, is refused rather than read as its last value (the items' property filters, which a route does not
    declare, take any of their values); a CQL2 text filter nesting parentheses deeper than the setting is refused
    before the parser, whose work on a faulty one doubles with each level, sees it."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    counts = Counter(key for key, _ in request.query_params.multi_items())
    repeated = sorted(key for key, n in counts.items() if n > 1 and key in _declared_parameters(route))
    if repeated:
        raise bad_request(repeated[0], "given more than once; it takes one value")
    text = request.query_params.get("filter")
    if text and "filter" in _declared_parameters(route) and request.query_params.get("filter-lang") != "cql2-json":
        deepest = request.app.state.store.settings.filter_max_nesting
        if cql.nesting(text) > deepest:
            raise bad_request("filter", f"parentheses nest deeper than {deepest} levels")
