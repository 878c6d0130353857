"""Priority targets over the cost cap: a flag per target whose capex per location (civic number or school address),
connections excluded, exceeds the reference table's multiple of the Italia 1 Giga lot's cost per civic number
(DOMAIN §6 invariant 22, §4.3), to be weighed against FWA or satellite. Targets of earlier runs were not assessed:
NULL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COMMENT = (
    "capex per location, connections excluded, over the cost cap: to weigh against FWA or satellite "
    "(NULL: no route, or a run before the flag)"
)


def upgrade() -> None:
    op.add_column("priority_item", sa.Column("above_cost_cap", sa.Boolean(), comment=COMMENT), schema="out")


def downgrade() -> None:
    op.drop_column("priority_item", "above_cost_cap", schema="out")
