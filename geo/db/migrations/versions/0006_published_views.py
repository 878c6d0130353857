"""Views published by the feature server: coverage per municipality with geometry, Infratel counts per municipality.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW out.coverage_features AS
        SELECT cc.pro_com_t || '_' || to_char(cc.ref_date, 'YYYY-MM-DD') AS feature_id, cc.run_id, cc.pro_com_t,
               c.comune, cc.cod_uts, cc.ref_date, cc.population, cc.households, cc.households_ftth, cc.ftth_share,
               cc.fttc_present, cc.population_with_ftth, cc.population_without_ftth, cc.civici_a, cc.civici_b,
               cc.civici_c, cc.civici_unserved, cc.civici_per_1000, cc.gap_class, cc.eu_area_class, c.geom
        FROM out.coverage_comune cc JOIN ref.comune c USING (pro_com_t)
        """
    )
    op.execute(
        """
        CREATE VIEW cov.infratel_by_comune AS
        SELECT c.pro_com_t, c.comune,
               count(i.id) FILTER (WHERE i.caratteristica = 'A')::integer AS civici_a,
               count(i.id) FILTER (WHERE i.caratteristica = 'B')::integer AS civici_b,
               count(i.id) FILTER (WHERE i.caratteristica = 'C')::integer AS civici_c,
               count(i.id)::integer AS civici_unserved,
               max(i.ref_date) AS ref_date,
               c.geom
        FROM ref.comune c LEFT JOIN cov.infratel_civico i USING (pro_com_t)
        GROUP BY c.pro_com_t
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS cov.infratel_by_comune")
    op.execute("DROP VIEW IF EXISTS out.coverage_features")
