"""Alembic environment: runs the migrations on the connection handed over by geo.db.migrate."""

from alembic import context

from geo.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through 'areavasta db upgrade' (geo.db.migrate), which supplies the engine.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema="meta",
    include_schemas=True,
)
with context.begin_transaction():
    context.run_migrations()
