"""The data version: a value that moves whenever an ingest or analysis run is recorded or finishes, and the
channel on which the store announces that it moved (migration 0012)."""

from __future__ import annotations

from sqlalchemy import Connection, text

CHANNEL = "areavasta_data"
# the latest end and the number of ended runs: a run ends in the transaction that commits its data, and two runs
# committing in the other order than their clocks still add one ended run each
SQL = (
    "SELECT (SELECT coalesce(max(finished_at)::text, '-') || '#' || count(finished_at) FROM meta.ingest_run) || '|' "
    "|| (SELECT coalesce(max(finished_at)::text, '-') || '#' || count(finished_at) FROM out.analysis_run)"
)


def read(conn: Connection) -> str:
    """The current data version."""
    return conn.execute(text(SQL)).scalar_one()
