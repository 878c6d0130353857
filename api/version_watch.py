"""The data version held in memory and kept current by the store's notifications (LISTEN ``areavasta_data``), so
that a cached answer costs no store round trip.

The listener reads the version right after LISTEN, then again after every notification (PostgreSQL sends them
at the commit of a run). While it is not connected the version is unknown and every request reads it from the
store, as before: a broken listener makes answers slower, never stale. The one window left is the delivery of a
notification (well under a millisecond on one machine) after the writer's commit.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy import make_url

from geo.db import data_version

log = logging.getLogger(__name__)
RETRY_S = 2.0


def conninfo(database_url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class VersionWatch:
    """A daemon thread listening for new data versions; ``current()`` is None while it cannot vouch for one."""

    def __init__(self, database_url: str) -> None:
        self._conninfo = conninfo(database_url)
        self._version: str | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="areavasta-version-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def current(self) -> str | None:
        return self._version

    def wait_for(self, predicate: object = None, timeout: float = 5.0) -> str | None:
        """Wait until a version other than ``predicate`` (a version string) is known; returns it (tests, jobs)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._version is None or self._version == predicate:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return self._version

    def _set(self, version: str | None) -> None:
        with self._changed:
            self._version = version
            self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {data_version.CHANNEL}")
                    self._set(conn.execute(data_version.SQL).fetchone()[0])  # type: ignore[index]
                    while not self._stop.is_set():
                        if list(conn.notifies(timeout=0.5, stop_after=1)):
                            self._set(conn.execute(data_version.SQL).fetchone()[0])  # type: ignore[index]
            except Exception as exc:  # the store is down or restarting: fall back to reading per request
                if self._version is not None:
                    log.warning("data version listener lost (%s); reading the version per request", exc)
                self._set(None)
                self._stop.wait(RETRY_S)
