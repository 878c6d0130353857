"""The data version held in memory and kept current by the store's notifications (LISTEN ``areavasta_data``), so
that a cached answer costs no store round trip.

The listener reads the version right after LISTEN, then again after every notification (PostgreSQL sends them
at the commit of a run). While it is not connected the version is unknown and every request reads it from the
store, as before: a broken listener makes answers slower, never stale. A commit made in this process (a job, a
test) forgets the version at once, so the next request reads it; for writers in other processes the one window
left is the delivery of the notification (well under a millisecond on one machine) after their commit.

Reading from a streaming replica, the notifications come from the primary (PostgreSQL does not replay them): on
each one the watch reads the primary's version and waits until the replica reports the same, so the cache moves
to a new version only once the replica has replayed the run's commit and answers built from it are new too.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext

import psycopg
from sqlalchemy import Engine, event, make_url

from geo.db import data_version
from geo.db.orphans import process_tag

log = logging.getLogger(__name__)
RETRY_S = 2.0
REPLAY_POLL_S = 0.02  # how often a replica is asked whether it has replayed the primary's new version
SETTLE_S = 1.0  # after a local commit that sent no notification, read the version again once this has passed


def conninfo(database_url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL (``postgresql+psycopg://…``)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class VersionWatch:
    """A daemon thread listening for new data versions; ``current()`` is None while it cannot vouch for one."""

    def __init__(self, database_url: str, notify_url: str | None = None) -> None:
        """Versions are read where the answers are read (``database_url``); notifications are heard on
        ``notify_url``, the primary, when that is another server (a read replica's primary)."""
        self._conninfo = conninfo(database_url)
        self._notify_conninfo = conninfo(notify_url) if notify_url and notify_url != database_url else None
        self._version: str | None = None
        self._generation = 0  # moves at every local commit: a read begun before it may not be stored
        self._committed_at = 0.0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="areavasta-version-watch", daemon=True)

    def start(self) -> None:
        """Start listening, and forget the version at every local commit."""
        event.listen(Engine, "commit", self._local_commit)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (waiting at most 5 s for the thread)."""
        if event.contains(Engine, "commit", self._local_commit):
            event.remove(Engine, "commit", self._local_commit)
        self._stop.set()
        self._thread.join(timeout=5)

    def _local_commit(self, _conn: object) -> None:
        # the event comes just before the commit itself: forget the version, and let the listener read it again
        # on the commit's notification (or, for a commit that sent none, once it has surely completed)
        with self._changed:
            self._generation += 1
            self._committed_at = time.monotonic()
            self._version = None

    def current(self) -> str | None:
        """The data version now, or None while it cannot be vouched for."""
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

    def _set(self, version: str | None, generation: int | None = None) -> None:
        with self._changed:
            if generation is None or generation == self._generation:
                self._version = version
            self._changed.notify_all()

    @staticmethod
    def _version_of(conn: psycopg.Connection) -> str:
        return str(conn.execute(data_version.SQL).fetchone()[0])  # type: ignore[index]

    def _read(self, conn: psycopg.Connection) -> None:
        generation = self._generation
        self._set(self._version_of(conn), generation)

    def _catch_up(self, primary: psycopg.Connection, replica: psycopg.Connection) -> None:
        """Keep the replica's version until the replica reports the primary's (it has replayed the commit)."""
        target = self._version_of(primary)
        while not self._stop.is_set():
            generation = self._generation
            version = self._version_of(replica)
            if version == target:
                self._set(version, generation)
                return
            if list(primary.notifies(timeout=REPLAY_POLL_S, stop_after=1)):
                target = self._version_of(primary)  # a newer run committed meanwhile

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # tagged like the process's other connections: while it listens, the server's runs show as alive
                tag = process_tag()
                with (
                    psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5, application_name=tag) as conn,
                    (
                        psycopg.connect(self._notify_conninfo, autocommit=True, connect_timeout=5, application_name=tag)
                        if self._notify_conninfo
                        else nullcontext(conn)
                    ) as listener,
                ):
                    listener.execute(f"LISTEN {data_version.CHANNEL}")
                    self._read(conn)
                    while not self._stop.is_set():
                        notified = bool(list(listener.notifies(timeout=0.5, stop_after=1)))
                        settled = self._version is None and time.monotonic() - self._committed_at > SETTLE_S
                        if notified and listener is not conn:
                            self._catch_up(listener, conn)
                        elif notified or settled:
                            self._read(conn)
            except Exception as exc:  # the store is down or restarting: fall back to reading per request
                if self._version is not None:
                    log.warning("data version listener lost (%s); reading the version per request", exc)
                self._set(None)
                self._stop.wait(RETRY_S)
