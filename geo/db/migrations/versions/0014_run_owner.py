"""Who runs a run: every ingest run, analysis run and job records the ``application_name`` of the connection that
created it (the process tag set by ``geo.db.engine.make_engine``), so that one left ``running`` by a process that
died can be told from one still in progress (``geo.db.orphans``). Rows from before have no owner.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = (("meta", "ingest_run"), ("out", "analysis_run"), ("meta", "job"))


def upgrade() -> None:
    for schema, table in TABLES:
        # the column first, the default after: existing rows stay without an owner instead of taking this session's
        op.execute(f"ALTER TABLE {schema}.{table} ADD COLUMN owner text")
        op.execute(
            f"ALTER TABLE {schema}.{table} ALTER COLUMN owner SET DEFAULT "
            "nullif(current_setting('application_name', true), '')"
        )
        op.execute(
            f"COMMENT ON COLUMN {schema}.{table}.owner IS "
            "'application_name of the connection that created the row: the process tag of its owner'"
        )


def downgrade() -> None:
    for schema, table in TABLES:
        op.execute(f"ALTER TABLE {schema}.{table} DROP COLUMN owner")
