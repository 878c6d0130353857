"""Schema migrations (Alembic) run programmatically on a checked engine.

Reading the revisions needs no Alembic: the store's version comes from its version table and the newest one from
the scripts' headers, so that ``areavasta db status`` answers without loading Alembic, SQLAlchemy and the scripts'
imports (the libraries are imported where they are used).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

_INI = Path(__file__).with_name("alembic.ini")
_VERSIONS = Path(__file__).with_name("migrations") / "versions"
_HEADER = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:\"([^\"]+)\"|'([^']+)'|None)", re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    return Config(str(_INI))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the meta schema holds Alembic's version table)."""
    from alembic import command
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS meta"))
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def head_revision() -> str:
    """The newest migration: the one no other script revises (the scripts form one line)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in _VERSIONS.glob("*.py"):
        header = {name: double or single for name, double, single in _HEADER.findall(script.read_text())}
        if header.get("revision"):
            revisions.add(header["revision"])
            if header.get("down_revision"):
                revised.add(header["down_revision"])
    heads = revisions - revised
    assert len(heads) == 1, f"migrations must form one line; heads {sorted(heads)}"
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision (None before the first migration)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('meta.alembic_version')")).scalar() is None:
            return None
        return conn.execute(text("SELECT version_num FROM meta.alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    return current_revision(engine) == head_revision()
