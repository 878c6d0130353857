"""Civic numbers without >300 Mbit/s per municipality: unknown (NULL), not zero, for a municipality the Infratel
list does not name, and so for every municipality while no list is loaded. Zero would tell a planner that nothing
is missing there; the coverage analysis already reads an absent municipality as unknown.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _view(unknown_when_absent: bool) -> str:
    def counted(condition: str) -> str:
        value = f"count(i.id) FILTER (WHERE {condition})::integer" if condition else "count(i.id)::integer"
        return f"CASE WHEN count(i.id) = 0 THEN NULL ELSE {value} END" if unknown_when_absent else value

    return f"""
        CREATE OR REPLACE VIEW cov.infratel_by_comune AS
        SELECT c.pro_com_t, c.comune,
               {counted("i.caratteristica = 'A'")} AS civici_a,
               {counted("i.caratteristica = 'B'")} AS civici_b,
               {counted("i.caratteristica = 'C'")} AS civici_c,
               {counted("")} AS civici_unserved,
               max(i.ref_date) AS ref_date,
               c.geom
        FROM ref.comune c LEFT JOIN cov.infratel_civico i USING (pro_com_t)
        GROUP BY c.pro_com_t
        """


def upgrade() -> None:
    op.execute(_view(unknown_when_absent=True))


def downgrade() -> None:
    op.execute(_view(unknown_when_absent=False))
