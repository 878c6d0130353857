"""The models are the migrated store: every table of geo/models.py as the migrations create it (Alembic's comparison
finds nothing to change) and every view in geo.models.VIEWS with the migrations' columns and types, in order."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from geo.models import SCHEMAS, VIEWS, Base

VIEW_COLUMNS = """
SELECT c.column_name, c.udt_name FROM information_schema.columns c
WHERE c.table_schema = :schema AND c.table_name = :name ORDER BY c.ordinal_position
"""
VIEW_NAMES = "SELECT table_schema || '.' || table_name FROM information_schema.views WHERE table_schema = ANY(:s)"
UDT = {"TEXT": "text", "INTEGER": "int4", "BIGINT": "int8", "FLOAT": "float8", "DATE": "date", "BOOLEAN": "bool"}


def _ours(name: str | None, kind: str, parent: object) -> bool:
    """The store's schemas (not PostGIS's tables in public) without Alembic's version table."""
    return (kind != "schema" or name in SCHEMAS) and (kind != "table" or name != "alembic_version")


def _same_default(context, inspected, declared, found, _, rendered) -> bool:
    """Whether a server default differs, read without PostgreSQL's casts and case (it stores
    ``nullif(current_setting('application_name', true), '')`` as ``NULLIF(current_setting('application_name'::text,
    true), ''::text)``); plain literals as Alembic compares them."""

    def plain(value: str | None) -> str:
        return re.sub(r"::\w+", "", value or "").strip("'\"").lower()

    return plain(found) != plain(rendered)


def _udt(column) -> str:
    compiled = column.type.compile(dialect=_udt.dialect)
    return "geometry" if compiled.startswith("geometry") else UDT.get(compiled, compiled)


def test_the_tables_are_the_migrated_ones(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_schemas": True,
                "version_table_schema": "meta",
                "compare_type": True,
                "compare_server_default": _same_default,
                "include_name": _ours,
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_views_are_the_migrated_ones(store):
    _udt.dialect = store.engine.dialect
    with store.engine.connect() as conn:
        migrated = set(conn.execute(text(VIEW_NAMES), {"s": list(SCHEMAS)}).scalars())
        assert migrated == set(VIEWS.tables)
        for view in VIEWS.tables.values():
            found = conn.execute(text(VIEW_COLUMNS), {"schema": view.schema, "name": view.name}).all()
            assert [tuple(row) for row in found] == [(c.name, _udt(c)) for c in view.columns], view.fullname


def test_every_collection_serves_a_model_relation_with_its_types():
    from api.ogc.collections import COLLECTIONS, Identifier64

    for collection in COLLECTIONS.values():
        relations = {**Base.metadata.tables, **VIEWS.tables}
        model = relations[collection.table.fullname]
        for name in (*collection.properties, collection.geometry_column):
            served, stored = collection.table.c[name].type, model.c[name].type
            assert type(served) is type(stored) or isinstance(served, Identifier64), (collection.id, name)
