"""Infratel rows whose street lost characters, indexed apart: school matching then reads only those rows with a
pattern, and finds every exact address through the address index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_cov_infratel_civico_lost ON cov.infratel_civico (pro_com_t, civico_norm) WHERE lost_characters"
    )


def downgrade() -> None:
    op.execute("DROP INDEX cov.ix_cov_infratel_civico_lost")
