"""Foundation: provenance, provinces, municipalities, population.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SRID = 32632


def _run_fk() -> sa.Column[Any]:
    return sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False)


def _geom() -> sa.Column[Any]:
    return sa.Column("geom", Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE SCHEMA IF NOT EXISTS ref")
    op.create_table(
        "ingest_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.Text),
        sa.Column("reference_date", sa.Date),
        sa.Column("rows_read", sa.Integer),
        sa.Column("rows_loaded", sa.Integer),
        sa.Column("rows_rejected", sa.Integer),
        sa.Column("content_hash", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Text, nullable=False, server_default="running"),
        sa.Column("error", sa.Text),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("details", JSONB),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'unchanged', 'failed')", name="status"),
        schema="meta",
    )
    op.create_table(
        "province",
        sa.Column("cod_uts", sa.Text, primary_key=True),
        sa.Column("den_uts", sa.Text),
        sa.Column("sigla", sa.Text),
        sa.Column("cod_reg", sa.Text),
        sa.Column("vintage", sa.Date, nullable=False),
        _geom(),
        _run_fk(),
        sa.CheckConstraint(r"cod_uts ~ '^\d{3}$'", name="cod_uts"),
        schema="ref",
    )
    op.create_table(
        "comune",
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("comune", sa.Text, nullable=False),
        sa.Column("cod_uts", sa.Text, nullable=False),
        sa.Column("cod_catastale", sa.Text),
        sa.Column("vintage", sa.Date, nullable=False),
        sa.Column("shape_area", sa.Float, comment="reference area (m²) published with the source"),
        _geom(),
        _run_fk(),
        sa.CheckConstraint(r"pro_com_t ~ '^\d{6}$'", name="pro_com_t"),
        sa.CheckConstraint(r"cod_uts ~ '^\d{3}$'", name="cod_uts"),
        sa.CheckConstraint(r"cod_catastale ~ '^[A-Z]\d{3}$'", name="cod_catastale"),
        sa.CheckConstraint("left(pro_com_t, 3) = cod_uts", name="province_prefix"),
        schema="ref",
    )
    op.create_index("ix_ref_comune_cod_uts", "comune", ["cod_uts"], schema="ref")
    op.create_table(
        "population",
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("ref_date", sa.Date, primary_key=True),
        sa.Column("age", sa.SmallInteger, primary_key=True),
        sa.Column("males", sa.Integer, nullable=False),
        sa.Column("females", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        _run_fk(),
        sa.CheckConstraint(r"pro_com_t ~ '^\d{6}$'", name="pro_com_t"),
        sa.CheckConstraint("age BETWEEN 0 AND 120", name="age"),
        sa.CheckConstraint("males >= 0 AND females >= 0 AND total = males + females", name="counts"),
        schema="ref",
    )
    for table in ("province", "comune"):
        op.create_index(f"ix_ref_{table}_geom", table, ["geom"], schema="ref", postgresql_using="gist")
    op.execute(
        """
        CREATE VIEW ref.comune_population AS
        SELECT pro_com_t, ref_date, sum(total)::integer AS total,
               sum(males)::integer AS males, sum(females)::integer AS females
        FROM ref.population GROUP BY pro_com_t, ref_date
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS ref.comune_population")
    op.drop_table("population", schema="ref")
    op.drop_table("comune", schema="ref")
    op.drop_table("province", schema="ref")
    op.drop_table("ingest_run", schema="meta")
