"""Request dependencies: the store engine, opened lazily and shared by the application."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import Request
from sqlalchemy import Engine

from api.http import ResponseCache
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
