"""Engines for the configured store, with a clear error when it is unreachable or lacks PostGIS."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from geo.db.cluster import Cluster, safe_url
from geo.settings import Settings


class StoreError(RuntimeError):
    """The configured PostGIS store cannot be used."""


def database_url(settings: Settings) -> str:
    """``AREAVASTA_DATABASE_URL`` when set, else the managed cluster's URL."""
    if settings.database_url:
        return settings.database_url
    return Cluster.from_settings(settings).url()


def make_engine(url: str) -> Engine:
    """An engine on ``url`` (psycopg 3), checked to reach a database with the PostGIS extension."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    check_postgis(engine)
    return engine


def check_postgis(engine: Engine) -> str:
    """The PostGIS version of ``engine``'s database; raises :class:`StoreError` saying what is missing."""
    where = safe_url(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")).scalar()
            if version:
                return str(version)
            available = conn.execute(
                text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar()
    except OperationalError as exc:
        raise StoreError(f"Cannot connect to the database at {where}: {exc.orig}") from exc
    if available:
        raise StoreError(
            f"The database at {where} does not have the PostGIS extension enabled. "
            f"Run 'CREATE EXTENSION postgis;' in it as a superuser (PostGIS {available} is available)."
        )
    raise StoreError(
        f"The server at {where} has no PostGIS extension installed "
        "(on Debian: apt-get install postgresql-<version>-postgis-3)."
    )
