"""Road network: nodes and undirected edges, ready for routing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SRID = 32632


def _run_fk() -> sa.Column[Any]:
    return sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS net")
    op.create_table(
        "node",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("osm_id", sa.BigInteger),
        sa.Column("geom", Geometry("POINT", srid=SRID, spatial_index=False), nullable=False),
        _run_fk(),
        schema="net",
    )
    op.create_table(
        "edge",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("source", sa.BigInteger, nullable=False),
        sa.Column("target", sa.BigInteger, nullable=False),
        sa.Column("osm_id", sa.BigInteger),
        sa.Column("highway", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("geom", Geometry("LINESTRING", srid=SRID, spatial_index=False), nullable=False),
        _run_fk(),
        sa.CheckConstraint("length_m > 0", name="length_m"),
        sa.CheckConstraint("source <> target", name="no_loop"),
        schema="net",
    )
    op.create_index("ix_net_edge_source", "edge", ["source"], schema="net")
    op.create_index("ix_net_edge_target", "edge", ["target"], schema="net")
    op.create_index("ix_net_node_geom", "node", ["geom"], schema="net", postgresql_using="gist")
    op.create_index("ix_net_edge_geom", "edge", ["geom"], schema="net", postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("edge", schema="net")
    op.drop_table("node", schema="net")
    op.execute("DROP SCHEMA IF EXISTS net")
