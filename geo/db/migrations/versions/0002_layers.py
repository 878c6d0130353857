"""Source layers: AGCOM municipal table, Infratel civic list, settlements, MIM schools and their locations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SRID = 32632
CODE = r"^\d{6}$"
AGCOM_COUNTS = (
    "celle20m_raggiunte",
    "punti_dichiarati",
    "punti_distinti_5m",
    "indirizzi_distinti",
    "celle20m_ftth",
    "punti_dichiarati_ftth",
    "punti_distinti_5m_ftth",
    "indirizzi_distinti_ftth",
    "celle20m_fttc",
    "famiglie_residenti",
    "famiglie_raggiunte_ftth",
)


def _run_fk() -> sa.Column[Any]:
    return sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False)


def _point() -> sa.Column[Any]:
    return sa.Column("geom", Geometry("POINT", srid=SRID, spatial_index=False), nullable=False)


def _code_check() -> sa.CheckConstraint:
    return sa.CheckConstraint(f"pro_com_t ~ '{CODE}'", name="pro_com_t")


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS cov")
    op.execute("CREATE SCHEMA IF NOT EXISTS school")
    op.create_table(
        "agcom_comune",
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("ref_date", sa.Date, primary_key=True),
        sa.Column("comune_source", sa.Text),
        *[sa.Column(name, sa.Integer, sa.CheckConstraint(f"{name} >= 0", name=name)) for name in AGCOM_COUNTS],
        _run_fk(),
        _code_check(),
        schema="cov",
    )
    op.create_table(
        "infratel_civico",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="data row of the source file"),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("ref_date", sa.Date, nullable=False),
        sa.Column("comune_source", sa.Text),
        sa.Column("strada", sa.Text, nullable=False),
        sa.Column("strada_norm", sa.Text, nullable=False),
        sa.Column("civico", sa.Text, nullable=False),
        sa.Column("numero", sa.Integer),
        sa.Column("esponente", sa.Text),
        sa.Column("civico_norm", sa.Text, nullable=False),
        sa.Column("caratteristica", sa.Text, nullable=False),
        sa.Column("lost_characters", sa.Boolean, nullable=False),
        sa.Column("duplicate_of", sa.BigInteger, comment="first row with the same address"),
        _run_fk(),
        _code_check(),
        sa.CheckConstraint("caratteristica IN ('A', 'B', 'C')", name="caratteristica"),
        schema="cov",
    )
    op.create_index("ix_cov_infratel_civico_pro_com_t", "infratel_civico", ["pro_com_t"], schema="cov")
    op.create_index(
        "ix_cov_infratel_civico_address", "infratel_civico", ["pro_com_t", "strada_norm", "civico_norm"], schema="cov"
    )
    op.create_table(
        "settlement",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        _point(),
        _run_fk(),
        _code_check(),
        schema="ref",
    )
    op.create_index("ix_ref_settlement_pro_com_t", "settlement", ["pro_com_t"], schema="ref")
    op.create_table(
        "scuola",
        sa.Column("codicescuola", sa.Text, primary_key=True),
        sa.Column("gestione", sa.Text, nullable=False),
        sa.Column("anno_scolastico", sa.Text, nullable=False, comment="e.g. 2025/26"),
        sa.Column("codice_istituto", sa.Text),
        sa.Column("denominazione", sa.Text, nullable=False),
        sa.Column("indirizzo", sa.Text),
        sa.Column("strada_norm", sa.Text),
        sa.Column("civico_norm", sa.Text),
        sa.Column("cap", sa.Text),
        sa.Column("cod_catastale", sa.Text, nullable=False),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("tipologia", sa.Text, comment="DESCRIZIONETIPOLOGIAGRADOISTRUZIONESCUOLA"),
        sa.Column("livello", sa.Text, nullable=False),
        sa.Column("caratteristica", sa.Text),
        _run_fk(),
        sa.CheckConstraint("codicescuola ~ '^[A-Z0-9]{10}$'", name="codicescuola"),
        _code_check(),
        sa.CheckConstraint("gestione IN ('statale', 'paritaria')", name="gestione"),
        schema="school",
    )
    op.create_index("ix_school_scuola_pro_com_t", "scuola", ["pro_com_t"], schema="school")
    op.create_table(
        "geocoded",
        sa.Column("codicescuola", sa.Text, primary_key=True),
        sa.Column("indirizzo", sa.Text),
        sa.Column("pro_com_t", sa.Text, comment="municipality containing the point"),
        _point(),
        _run_fk(),
        sa.CheckConstraint("codicescuola ~ '^[A-Z0-9]{10}$'", name="codicescuola"),
        schema="school",
    )
    op.create_table(
        "edificio",
        sa.Column("codiceedificio", sa.Text, primary_key=True),
        sa.Column("anno_scolastico", sa.Text, nullable=False),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("indirizzo", sa.Text),
        sa.Column("strada_norm", sa.Text),
        sa.Column("civico_norm", sa.Text),
        sa.Column("cap", sa.Text),
        _run_fk(),
        _code_check(),
        schema="school",
    )
    op.create_table(
        "scuola_edificio",
        sa.Column("codicescuola", sa.Text, primary_key=True),
        sa.Column("codiceedificio", sa.Text, primary_key=True),
        _run_fk(),
        schema="school",
    )
    op.create_index("ix_ref_settlement_geom", "settlement", ["geom"], schema="ref", postgresql_using="gist")
    op.create_index("ix_school_geocoded_geom", "geocoded", ["geom"], schema="school", postgresql_using="gist")
    op.execute(
        """
        CREATE VIEW ref.main_settlement AS
        SELECT DISTINCT ON (s.pro_com_t) s.pro_com_t, s.id, s.name, s.place, s.geom
        FROM ref.settlement s LEFT JOIN ref.comune c USING (pro_com_t)
        ORDER BY s.pro_com_t,
                 (upper(s.name) = upper(c.comune)) IS TRUE DESC,
                 array_position(ARRAY['city', 'town', 'village', 'suburb'], s.place) NULLS LAST,
                 s.id
        """
    )
    op.execute(
        """
        CREATE VIEW school.scuola_located AS
        SELECT s.*,
               coalesce(g.geom, m.geom, ST_PointOnSurface(c.geom))::geometry(Point, 32632) AS geom,
               CASE WHEN g.geom IS NOT NULL THEN 'geocoded_address'
                    WHEN m.geom IS NOT NULL THEN 'main_settlement'
                    WHEN c.geom IS NOT NULL THEN 'municipality_point_on_surface' END AS geocode_method,
               CASE WHEN g.geom IS NOT NULL AND g.pro_com_t IS DISTINCT FROM s.pro_com_t THEN 'address_unverified'
                    WHEN g.geom IS NOT NULL THEN 'address'
                    WHEN m.geom IS NOT NULL THEN 'settlement'
                    WHEN c.geom IS NOT NULL THEN 'municipality' END AS geocode_quality
        FROM school.scuola s
        LEFT JOIN school.geocoded g USING (codicescuola)
        LEFT JOIN ref.main_settlement m ON m.pro_com_t = s.pro_com_t
        LEFT JOIN ref.comune c ON c.pro_com_t = s.pro_com_t
        """
    )
    op.execute(
        """
        CREATE VIEW school.edificio_located AS
        SELECT e.*,
               coalesce(m.geom, ST_PointOnSurface(c.geom))::geometry(Point, 32632) AS geom,
               CASE WHEN m.geom IS NOT NULL THEN 'main_settlement'
                    WHEN c.geom IS NOT NULL THEN 'municipality_point_on_surface' END AS geocode_method,
               CASE WHEN m.geom IS NOT NULL THEN 'settlement'
                    WHEN c.geom IS NOT NULL THEN 'municipality' END AS geocode_quality
        FROM school.edificio e
        LEFT JOIN ref.main_settlement m ON m.pro_com_t = e.pro_com_t
        LEFT JOIN ref.comune c ON c.pro_com_t = e.pro_com_t
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS school.edificio_located")
    op.execute("DROP VIEW IF EXISTS school.scuola_located")
    op.execute("DROP VIEW IF EXISTS ref.main_settlement")
    for schema, table in (
        ("school", "scuola_edificio"),
        ("school", "edificio"),
        ("school", "geocoded"),
        ("school", "scuola"),
        ("ref", "settlement"),
        ("cov", "infratel_civico"),
        ("cov", "agcom_comune"),
    ):
        op.drop_table(table, schema=schema)
    op.execute("DROP SCHEMA IF EXISTS school")
    op.execute("DROP SCHEMA IF EXISTS cov")
