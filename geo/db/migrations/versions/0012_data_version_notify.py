"""Tell listeners when the data change: a notification on channel ``areavasta_data`` whenever an ingest or analysis
run is recorded or finished. PostgreSQL delivers it at commit (never for a rolled-back run), so a server can learn
of a new data version without asking the store on every request.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHANNEL = "areavasta_data"  # frozen copy of geo.db.data_version.CHANNEL at this revision
TABLES = (("meta", "ingest_run"), ("out", "analysis_run"))


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION meta.notify_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for schema, table in TABLES:
        op.execute(
            f"CREATE TRIGGER notify_data_version AFTER INSERT OR UPDATE OR DELETE ON {schema}.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION meta.notify_data_version()"
        )


def downgrade() -> None:
    for schema, table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS notify_data_version ON {schema}.{table}")
    op.execute("DROP FUNCTION IF EXISTS meta.notify_data_version()")
