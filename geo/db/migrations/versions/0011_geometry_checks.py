"""Geometry that cannot be stored: non-finite or absurd coordinates of points and polygons.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# frozen copies of geo.models.FINITE_POINT and FINITE_POLYGON at this revision (metres in EPSG:32632: bounds that any
# point of Italy and its neighbours meets, and that infinity or NaN never does)
FINITE_POINT = "ST_X(geom) BETWEEN -2e6 AND 3e6 AND ST_Y(geom) BETWEEN 3e6 AND 7e6"
FINITE_POLYGON = "ST_XMin(geom) >= -2e6 AND ST_XMax(geom) <= 3e6 AND ST_YMin(geom) >= 3e6 AND ST_YMax(geom) <= 7e6"
CHECKS = (
    ("ref", "settlement", "geom_finite", FINITE_POINT),
    ("school", "geocoded", "geom_finite", FINITE_POINT),
    ("ref", "comune", "geom_finite", FINITE_POLYGON),
    ("ref", "province", "geom_finite", FINITE_POLYGON),
)


def upgrade() -> None:
    for schema, table, name, condition in CHECKS:
        op.create_check_constraint(name, table, condition, schema=schema)


def downgrade() -> None:
    for schema, table, name, _ in CHECKS:
        op.drop_constraint(f"ck_{table}_{name}", table, schema=schema)
