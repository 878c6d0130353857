"""Analysis runs and coverage-gap results (per municipality, aggregates, change, school connectivity).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _run_fk() -> sa.Column[Any]:
    return sa.Column("run_id", sa.Integer, sa.ForeignKey("out.analysis_run.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS out")
    op.create_table(
        "analysis_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.Text, nullable=False, server_default="running"),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("reference_versions", JSONB, nullable=False),
        sa.Column("ingest_runs", JSONB, nullable=False, comment="ingest runs whose rows the analysis read"),
        sa.Column("timings", JSONB),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        schema="out",
    )
    op.create_table(
        "coverage_comune",
        _run_fk(),
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("ref_date", sa.Date, primary_key=True),
        sa.Column("cod_uts", sa.Text, nullable=False),
        sa.Column("population", sa.Integer),
        sa.Column("households", sa.Integer),
        sa.Column("households_ftth", sa.Integer),
        sa.Column("households_without_ftth", sa.Integer),
        sa.Column("ftth_share", sa.Float),
        sa.Column("fttc_present", sa.Boolean),
        sa.Column("cells20m_reached", sa.Integer),
        sa.Column("cells20m_ftth", sa.Integer),
        sa.Column("cells20m_fttc", sa.Integer),
        sa.Column("population_with_ftth", sa.Integer, comment="population × FTTH household share, rounded"),
        sa.Column("population_without_ftth", sa.Integer),
        sa.Column("civici_a", sa.Integer, nullable=False),
        sa.Column("civici_b", sa.Integer, nullable=False),
        sa.Column("civici_c", sa.Integer, nullable=False),
        sa.Column("civici_unserved", sa.Integer, nullable=False),
        sa.Column("civici_per_1000", sa.Float),
        sa.Column("gap_class", sa.Text, nullable=False),
        sa.Column(
            "eu_area_class", sa.Text, nullable=False, comment="white/grey/black; undetermined without operator data"
        ),
        sa.Column("grid_population", sa.Float, comment="population from a loaded population grid"),
        sa.CheckConstraint("ftth_share BETWEEN 0 AND 1", name="ftth_share"),
        schema="out",
    )
    op.create_table(
        "coverage_area",
        _run_fk(),
        sa.Column("level", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("ref_date", sa.Date, primary_key=True),
        sa.Column("municipalities", sa.Integer, nullable=False),
        sa.Column("population", sa.BigInteger),
        sa.Column("households", sa.BigInteger),
        sa.Column("households_ftth", sa.BigInteger),
        sa.Column("households_without_ftth", sa.BigInteger),
        sa.Column("ftth_share", sa.Float),
        sa.Column("population_with_ftth", sa.BigInteger),
        sa.Column("population_without_ftth", sa.BigInteger),
        sa.Column("civici_unserved", sa.BigInteger, nullable=False),
        sa.Column("market_failure_candidates", sa.Integer, nullable=False),
        sa.CheckConstraint("level IN ('province', 'area')", name="level"),
        schema="out",
    )
    op.create_table(
        "coverage_change",
        _run_fk(),
        sa.Column("level", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("from_date", sa.Date, primary_key=True),
        sa.Column("to_date", sa.Date, primary_key=True),
        sa.Column("households_ftth_from", sa.BigInteger),
        sa.Column("households_ftth_to", sa.BigInteger),
        sa.Column("households_newly_reached", sa.BigInteger, comment="net change in households reached by FTTH"),
        sa.CheckConstraint("level IN ('municipality', 'province', 'area')", name="level"),
        schema="out",
    )
    op.create_table(
        "school_connectivity",
        _run_fk(),
        sa.Column("codicescuola", sa.Text, primary_key=True),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("cod_uts", sa.Text, nullable=False),
        sa.Column("gestione", sa.Text, nullable=False),
        sa.Column("livello", sa.Text, nullable=False),
        sa.Column("ref_date", sa.Date, comment="AGCOM reference date of the municipal share"),
        sa.Column("municipality_ftth_share", sa.Float),
        sa.Column("match_status", sa.Text, nullable=False),
        sa.Column("infratel_id", sa.BigInteger),
        sa.Column("infratel_class", sa.Text),
        sa.Column("gap", sa.Boolean, nullable=False, comment="address on the list without >300 Mbit/s by 2028"),
        sa.CheckConstraint(
            "match_status IN ('matched', 'no_address', 'no_civic_number', 'street_not_listed', 'number_not_listed')",
            name="match_status",
        ),
        schema="out",
    )
    op.create_table(
        "grid_coverage",
        _run_fk(),
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("coverage_raster", sa.Text, nullable=False),
        sa.Column("population_raster", sa.Text, nullable=False),
        sa.Column("population", sa.Float, nullable=False, comment="grid population, cells weighted by fraction inside"),
        sa.Column("population_covered", sa.Float, nullable=False),
        sa.Column("population_uncovered", sa.Float, nullable=False),
        sa.Column("covered_share", sa.Float),
        sa.CheckConstraint("covered_share BETWEEN 0 AND 1", name="covered_share"),
        schema="out",
    )
    op.execute(
        """
        CREATE VIEW out.school_gap_summary AS
        SELECT run_id, 'municipality'::text AS level, pro_com_t AS code, livello,
               count(*) AS schools, count(*) FILTER (WHERE gap) AS schools_with_gap
        FROM out.school_connectivity GROUP BY run_id, pro_com_t, livello
        UNION ALL
        SELECT run_id, 'province', cod_uts, livello, count(*), count(*) FILTER (WHERE gap)
        FROM out.school_connectivity GROUP BY run_id, cod_uts, livello
        UNION ALL
        SELECT run_id, 'area', 'all', livello, count(*), count(*) FILTER (WHERE gap)
        FROM out.school_connectivity GROUP BY run_id, livello
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS out.school_gap_summary")
    for table in (
        "grid_coverage",
        "school_connectivity",
        "coverage_change",
        "coverage_area",
        "coverage_comune",
        "analysis_run",
    ):
        op.drop_table(table, schema="out")
    op.execute("DROP SCHEMA IF EXISTS out")
