"""The data version: a value that moves whenever an ingest or analysis run is recorded or finishes, and the
channel on which the store announces that it moved (migration 0012)."""

from __future__ import annotations

from sqlalchemy import Connection, text

CHANNEL = "areavasta_data"
SQL = (
    "SELECT coalesce((SELECT max(finished_at) FROM meta.ingest_run)::text, '-') || '|' || "
    "coalesce((SELECT max(finished_at) FROM out.analysis_run)::text, '-')"
)


def read(conn: Connection) -> str:
    """The current data version."""
    return conn.execute(text(SQL)).scalar_one()
