"""Engines, PostGIS checks and migrations against the real server."""

import pytest
from psycopg import sql
from sqlalchemy import create_engine, text

from geo.db import migrate
from geo.db.engine import StoreError, check_postgis, make_engine
from tests.conftest import drop_database


def test_database_without_postgis_is_refused_clearly(server):
    name = "t_no_postgis"
    server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    server.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        with pytest.raises(StoreError, match="does not have the PostGIS extension enabled"):
            make_engine(server.url_for(name))
    finally:
        drop_database(server, name)


def test_unreachable_store_is_named_without_its_password():
    engine = create_engine("postgresql+psycopg://someone:secret@127.0.0.1:1/nothing")
    with pytest.raises(StoreError, match=r"Cannot connect to the database at .*someone:\*\*\*@127.0.0.1:1") as info:
        check_postgis(engine)
    assert "secret" not in str(info.value)


def test_every_stored_geometry_is_in_the_working_crs_with_a_gist_index(store):
    assert migrate.is_current(store.engine)
    with store.engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT f_table_schema || '.' || f_table_name AS name, srid FROM geometry_columns "
                "WHERE f_table_schema IN ('ref', 'cov', 'school') "
                "AND (f_table_schema, f_table_name) IN (SELECT schemaname, tablename FROM pg_tables)"
            )
        ).all()
        gist = set(
            conn.execute(
                text("SELECT schemaname || '.' || tablename FROM pg_indexes WHERE indexdef ILIKE '%USING gist (geom)%'")
            ).scalars()
        )
    assert {"ref.comune", "ref.province", "ref.settlement", "school.geocoded"} <= {c.name for c in columns}
    assert {c.srid for c in columns} == {32632}
    assert {c.name for c in columns} <= gist


def test_downgrade_and_upgrade_round_trip(store):
    from alembic import command

    with store.engine.begin() as conn:
        config = migrate._config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert migrate.current_revision(store.engine) is None
    migrate.upgrade(store.engine)
    assert migrate.is_current(store.engine)


def test_codes_are_text_and_checked_by_the_database(store):
    with store.engine.begin() as conn:
        run = conn.execute(text("INSERT INTO meta.ingest_run (layer, source) VALUES ('t', 't') RETURNING id")).scalar()
    with pytest.raises(Exception, match="ck_comune_pro_com_t"), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ref.comune (pro_com_t, comune, cod_uts, vintage, geom, ingest_run_id) VALUES "
                "('16024', 'Bergamo', '016', '2023-01-01', "
                "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(552000, 5060000), 32632), 10)), :run)"
            ),
            {"run": run},
        )
