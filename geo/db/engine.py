"""Engines for the configured store, with a clear error when it is unreachable or lacks PostGIS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from geo.db.cluster import Cluster, safe_url
from geo.db.orphans import process_tag
from geo.settings import Settings


class StoreError(RuntimeError):
    """The configured PostGIS store cannot be used."""


def database_url(settings: Settings) -> str:
    """``AREAVASTA_DATABASE_URL`` when set, else the managed cluster's URL."""
    if settings.database_url:
        return settings.database_url
    return Cluster.from_settings(settings).url()


def write_url(settings: Settings) -> str:
    """Where runs are written: ``AREAVASTA_WRITE_DATABASE_URL`` (a replica's primary) when set, else the store."""
    return settings.write_database_url or database_url(settings)


def make_engine(url: str, limits: EngineLimits | None = None) -> Engine:
    """An engine on ``url`` (psycopg 3), checked to reach a database with the PostGIS extension; ``limits`` bound
    its pool and waits (a serving process), none by default (ingest and analyses run as long as they need)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # the process tag tells the store who owns a run (geo.db.orphans)
    connect: dict[str, Any] = {"application_name": process_tag()}
    options: dict[str, Any] = {}
    if limits is not None:
        connect["connect_timeout"] = limits.connect_timeout_s
        options = {
            "pool_size": limits.pool_size,
            "max_overflow": limits.pool_overflow,
            "pool_timeout": limits.pool_timeout_s,
        }
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect, **options)
    if limits is not None and limits.statement_timeout_ms:
        _bound_statements(engine, limits.statement_timeout_ms)
    check_postgis(engine)
    return engine


def _bound_statements(engine: Engine, timeout_ms: int) -> None:
    """Every statement on ``engine``'s connections is cancelled after ``timeout_ms`` (set once per connection,
    after SQLAlchemy's own first queries on it, so that a small bound cannot break the connection's set-up)."""

    @event.listens_for(engine, "connect")
    def bound(dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
        dbapi_connection.commit()  # a SET inside a transaction rolled back later would be undone


@dataclass(frozen=True)
class EngineLimits:
    """Bounds on what one engine may hold and wait for."""

    statement_timeout_ms: int  # 0: none
    connect_timeout_s: int
    pool_size: int
    pool_overflow: int
    pool_timeout_s: float

    @classmethod
    def serving(cls, settings: Settings, statements: bool = True) -> EngineLimits:
        """The service's limits; without ``statements``, no statement timeout (background jobs)."""
        return cls(
            settings.statement_timeout_ms if statements else 0,
            settings.store_connect_timeout_s,
            settings.pool_size,
            settings.pool_overflow,
            settings.pool_timeout_s,
        )


def check_postgis(engine: Engine) -> str:
    """The PostGIS version of ``engine``'s database; raises :class:`StoreError` saying what is missing."""
    where = safe_url(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 0"))  # a check, not a request: never cut short
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
