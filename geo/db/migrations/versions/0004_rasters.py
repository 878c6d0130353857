"""Raster layers (population or coverage grids) and their per-municipality zonal statistics.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _run_fk() -> sa.Column[Any]:
    return sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "raster",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("crs_wkt", sa.Text, nullable=False),
        sa.Column("epsg", sa.Integer),
        sa.Column("res_x", sa.Float, nullable=False),
        sa.Column("res_y", sa.Float, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("nodata", sa.Float),
        sa.Column("total", sa.Float, comment="sum of the valid cells of the whole raster"),
        _run_fk(),
        sa.CheckConstraint("kind IN ('population', 'coverage')", name="kind"),
        schema="cov",
    )
    op.create_table(
        "raster_zonal",
        sa.Column("raster", sa.Text, primary_key=True),
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("sum", sa.Float, nullable=False, comment="coverage-weighted sum of the cell values"),
        sa.Column("mean", sa.Float, comment="coverage-weighted mean of the valid cells"),
        sa.Column("cells", sa.Float, nullable=False, comment="valid cells covered, counted by the fraction covered"),
        _run_fk(),
        schema="cov",
    )


def downgrade() -> None:
    op.drop_table("raster_zonal", schema="cov")
    op.drop_table("raster", schema="cov")
