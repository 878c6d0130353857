"""Opening the configured store: start the managed cluster when no external URL is set, check, migrate."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from geo.db.cluster import Cluster
from geo.db.engine import make_engine
from geo.db.orphans import mark_orphans
from geo.settings import Settings

log = logging.getLogger(__name__)


def open_store(settings: Settings, *, start: bool = True, upgrade: bool = False) -> Engine:
    """An engine on the store the command line writes to (the primary, where the service reads a replica); the
    managed cluster is started if ``start``; migrations run if ``upgrade``; runs and jobs that dead processes left
    running are marked failed (geo.db.orphans)."""
    url = settings.write_database_url or settings.database_url
    if not url:
        cluster = Cluster.from_settings(settings)
        if start:
            cluster.start()
        url = cluster.url()
    engine = make_engine(url)
    if upgrade:
        from geo.db import migrate  # Alembic only where migrations run: the cheap commands stay quick

        migrate.upgrade(engine)
    try:
        for orphan in mark_orphans(engine, settings.run_timeout_h):
            log.warning("%s %s marked failed: %s", orphan.table, orphan.id, orphan.reason)
    except DBAPIError as exc:  # a schema older than 0014 (before 'db upgrade'): the next opening does it
        log.info("runs left running not checked: %s", str(exc.orig or exc).splitlines()[0])
    return engine
