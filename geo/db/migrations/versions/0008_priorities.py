"""Priority lists: ranked targets with their routes, costs, benefits and reasons, per analysis run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "priority_item",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("out.analysis_run.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("cod_uts", sa.Text, nullable=False),
        sa.Column("geocode_quality", sa.Text, nullable=False),
        sa.Column("population", sa.Float, nullable=False),
        sa.Column("households", sa.Float, nullable=False),
        sa.Column("civici", sa.Integer, nullable=False),
        sa.Column("schools", sa.Integer, nullable=False),
        sa.Column("benefit", sa.Float, nullable=False),
        sa.Column("route_length_m", sa.Float),
        sa.Column("capex_eur", sa.Float),
        sa.Column("npv_eur", sa.Float),
        sa.Column("marginal_capex_eur", sa.Float),
        sa.Column("bc_ratio", sa.Float),
        sa.Column("eur_per_civico", sa.Float),
        sa.Column("eur_per_person", sa.Float),
        sa.Column("selected", sa.Boolean, nullable=False),
        sa.Column("cumulative_eur", sa.Float),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=32632, spatial_index=False), nullable=False),
        sa.Column("route", Geometry("MULTILINESTRING", srid=32632, spatial_index=False)),
        sa.CheckConstraint("kind IN ('school', 'civic_cluster')", name="kind"),
        sa.CheckConstraint("capex_eur >= 0 AND npv_eur >= 0", name="costs"),
        schema="out",
    )
    op.create_index("ix_out_priority_item_geom", "priority_item", ["geom"], schema="out", postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("priority_item", schema="out")
