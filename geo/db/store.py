"""Opening the configured store: start the managed cluster when no external URL is set, check, migrate."""

from __future__ import annotations

from sqlalchemy import Engine

from geo.db.cluster import Cluster
from geo.db.engine import make_engine
from geo.settings import Settings


def open_store(settings: Settings, *, start: bool = True, upgrade: bool = False) -> Engine:
    """An engine on the store the command line writes to (the primary, where the service reads a replica); the
    managed cluster is started if ``start``; migrations run if ``upgrade``."""
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
    return engine
