"""Analyses a planner and an officer can decide on: the census population grid; coverage classes, anomaly flags
and the 2030 outlook; served area aggregates and school connectivity; priorities with cost ranges, input status
and the modelled placement of listed civic numbers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OUTLOOK_NAMES = (
    "outlook_from", "pace_households_per_year", "ftth_share_2030", "full_ftth_year", "reaches_2030_target",
    "outlook_note",
)  # fmt: skip


def _outlook() -> tuple[sa.Column[Any], ...]:
    """The outlook columns (new objects for each table)."""
    return (
        sa.Column("outlook_from", sa.Date, comment="first reference date of the observed pace"),
        sa.Column("pace_households_per_year", sa.Float, comment="households newly reached by FTTH per year"),
        sa.Column("ftth_share_2030", sa.Float, comment="FTTH share at the outlook horizon if the pace holds"),
        sa.Column("full_ftth_year", sa.Integer, comment="year all households are reached at that pace"),
        sa.Column("reaches_2030_target", sa.Boolean),
        sa.Column("outlook_note", sa.Text),
    )


COVERAGE_FEATURES = """
CREATE VIEW out.coverage_features AS
SELECT cc.pro_com_t || '_' || to_char(cc.ref_date, 'YYYY-MM-DD') AS feature_id, cc.run_id, cc.pro_com_t,
       c.comune, cc.cod_uts, cc.ref_date, cc.population, cc.households, cc.households_ftth, cc.ftth_share,
       cc.fttc_present, cc.population_with_ftth, cc.population_without_ftth, cc.civici_a, cc.civici_b,
       cc.civici_c, cc.civici_unserved, cc.civici_per_1000, cc.gap_class, cc.eu_area_class, cc.eu_area_reason,
       cc.anomalies, cc.households_without_ftth, cc.pace_households_per_year, cc.ftth_share_2030,
       cc.full_ftth_year, cc.reaches_2030_target, cc.outlook_note, cc.census_population,
       cc.census_population_without_ftth, c.geom
FROM out.coverage_comune cc JOIN ref.comune c USING (pro_com_t)
"""

COVERAGE_AREA_FEATURES = """
CREATE VIEW out.coverage_area_features AS
WITH shapes AS (
    SELECT cod_uts AS territory, den_uts AS name, geom FROM ref.province
    UNION ALL
    SELECT 'area', 'Area vasta', ST_Multi(ST_Union(geom)) FROM ref.province
)
SELECT a.territory || '_' || to_char(a.ref_date, 'YYYY-MM-DD') AS feature_id, a.run_id, a.territory, s.name,
       a.level, a.ref_date, a.municipalities, a.population, a.households, a.households_ftth,
       a.households_without_ftth, a.ftth_share, a.population_with_ftth, a.population_without_ftth, a.civici_a,
       a.civici_b, a.civici_c, a.civici_unserved, a.municipalities_by_class::text AS municipalities_by_class,
       ch.households_newly_reached, ch.from_date AS change_from, a.pace_households_per_year, a.ftth_share_2030,
       a.full_ftth_year, a.reaches_2030_target, a.outlook_note, s.geom
FROM (SELECT *, CASE WHEN level = 'area' THEN 'area' ELSE code END AS territory FROM out.coverage_area) a
JOIN shapes s USING (territory)
LEFT JOIN out.coverage_change ch
       ON ch.run_id = a.run_id AND ch.level = a.level AND ch.code = a.code AND ch.to_date = a.ref_date
"""

SCHOOL_CONNECTIVITY_FEATURES = """
CREATE VIEW out.school_connectivity_features AS
SELECT c.run_id, c.codicescuola, s.denominazione, s.indirizzo, c.pro_com_t, k.comune, c.cod_uts, c.gestione,
       c.livello, c.status, c.match_status, c.match_method, c.match_confidence, c.infratel_class,
       c.municipality_ftth_share, c.ref_date, s.geocode_method, s.geocode_quality, s.geom
FROM out.school_connectivity c
JOIN school.scuola_located s USING (codicescuola)
JOIN ref.comune k ON k.pro_com_t = c.pro_com_t
"""

PLACEMENT_FEATURES = """
CREATE VIEW out.priority_placement_features AS
SELECT p.target_id || '@' || p.grd_id AS feature_id, p.run_id, p.target_id, p.grd_id, p.pro_com_t, c.comune,
       p.civici, p.civici_by_street, p.population, p.density_per_km2, p.geotype, p.distribution_eur,
       CASE WHEN p.civici_by_street = p.civici THEN 'street' WHEN p.civici_by_street > 0 THEN 'street_and_modelled'
            ELSE 'modelled' END AS location, p.geom
FROM out.priority_placement p JOIN ref.comune c USING (pro_com_t)
"""

OOKLA_FEATURES = """
CREATE VIEW cov.ookla_features AS
SELECT o.level || '_' || o.code || '_' || to_char(o.quarter, 'YYYY-MM-DD') AS feature_id, o.level, o.code, o.name,
       o.quarter, o.avg_down_mbps, o.avg_up_mbps, o.avg_latency_ms, coalesce(p.geom, c.geom) AS geom
FROM cov.ookla_speed o
LEFT JOIN ref.province p ON o.level = 'province' AND p.cod_uts = o.code
LEFT JOIN ref.comune c ON o.level = 'municipality' AND c.pro_com_t = o.code
WHERE coalesce(p.geom, c.geom) IS NOT NULL
"""


def upgrade() -> None:
    op.create_table(
        "popgrid_cell",
        sa.Column("grd_id", sa.Text, primary_key=True, comment="INSPIRE id, CRS3035RES{res}mN{y}E{x}"),
        sa.Column("res_m", sa.Integer, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("age_lt15", sa.Integer),
        sa.Column("age_1564", sa.Integer),
        sa.Column("age_ge65", sa.Integer),
        sa.Column("employed", sa.Integer),
        sa.Column("land_share", sa.Float, comment="share of the cell that is land (0-1)"),
        sa.Column("confidential", sa.Boolean, nullable=False, comment="a figure was withheld (set to 0)"),
        sa.Column("ref_date", sa.Date, nullable=False),
        sa.Column("geom", Geometry("POLYGON", srid=32632, spatial_index=False), nullable=False),
        sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False),
        sa.CheckConstraint("population >= 0", name="population"),
        sa.CheckConstraint("land_share IS NULL OR land_share BETWEEN 0 AND 1", name="land_share"),
        sa.CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        schema="ref",
    )
    op.create_index("ix_ref_popgrid_cell_geom", "popgrid_cell", ["geom"], schema="ref", postgresql_using="gist")

    op.create_table(
        "popgrid_part",
        sa.Column("pro_com_t", sa.Text, primary_key=True),
        sa.Column("grd_id", sa.Text, primary_key=True),
        sa.Column("population", sa.Float, nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("density_per_km2", sa.Float, nullable=False, comment="cell population per km² of land"),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=32632, spatial_index=False), nullable=False),
        sa.Column("popgrid_run_id", sa.Integer, nullable=False),
        sa.Column("boundaries_run_id", sa.Integer, nullable=False),
        schema="ref",
    )
    op.create_index("ix_ref_popgrid_part_geom", "popgrid_part", ["geom"], schema="ref", postgresql_using="gist")
    op.create_table(
        "ookla_speed",
        sa.Column("level", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True, comment="ISTAT code, or the NUTS 2 id of a region"),
        sa.Column("quarter", sa.Date, primary_key=True, comment="first day of the quarter"),
        sa.Column("name", sa.Text),
        sa.Column("avg_down_mbps", sa.Float, nullable=False),
        sa.Column("avg_up_mbps", sa.Float, nullable=False),
        sa.Column("avg_latency_ms", sa.Float, nullable=False),
        sa.Column("ingest_run_id", sa.Integer, sa.ForeignKey("meta.ingest_run.id"), nullable=False),
        sa.CheckConstraint("level IN ('region', 'province', 'municipality')", name="level"),
        sa.CheckConstraint("avg_down_mbps >= 0 AND avg_up_mbps >= 0 AND avg_latency_ms >= 0", name="values"),
        schema="cov",
    )
    op.execute(OOKLA_FEATURES)
    op.add_column("analysis_run", sa.Column("summary", JSONB, comment="figures of the run as a whole"), schema="out")

    op.execute("DROP VIEW out.coverage_features")
    for column in (
        sa.Column("anomalies", sa.Text, comment="input checks that failed, ';'-separated codes"),
        sa.Column("eu_area_reason", sa.Text, comment="why the EU area class is what it is"),
        sa.Column("census_population", sa.Float, comment="Census 2021 grid population, cells split by area"),
        sa.Column("census_population_without_ftth", sa.Float),
        *_outlook(),
    ):
        op.add_column("coverage_comune", column, schema="out")
    for column in (
        sa.Column("civici_a", sa.BigInteger),
        sa.Column("civici_b", sa.BigInteger),
        sa.Column("civici_c", sa.BigInteger),
        sa.Column("municipalities_by_class", JSONB),
        *_outlook(),
    ):
        op.add_column("coverage_area", column, schema="out")
    for name in ("civici_a", "civici_b", "civici_c", "civici_unserved"):  # unknown, not 0, where the list lacks it
        op.alter_column("coverage_comune", name, nullable=True, schema="out")
    op.alter_column("coverage_area", "civici_unserved", nullable=True, schema="out")
    op.execute(COVERAGE_FEATURES)
    op.execute(COVERAGE_AREA_FEATURES)

    for column in (
        sa.Column("status", sa.Text, nullable=False, server_default="unknown"),
        sa.Column("match_method", sa.Text, nullable=False, server_default="none"),
        sa.Column("match_confidence", sa.Text, nullable=False, server_default="none"),
    ):
        op.add_column("school_connectivity", column, schema="out")
    op.create_check_constraint(
        "status", "school_connectivity", "status IN ('gap', 'not_listed', 'unknown')", schema="out"
    )
    op.execute(SCHOOL_CONNECTIVITY_FEATURES)

    op.execute("DELETE FROM out.priority_item")  # earlier runs lack the cost ranges: their lists are not kept
    op.drop_column("priority_item", "geocode_quality", schema="out")  # now the row's location
    for column in (
        sa.Column("scenario", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False, comment="modelled, geocoded, settlement or approximate"),
        sa.Column("roads_status", sa.Text, nullable=False, comment="synthetic or surveyed"),
        sa.Column("sources_status", sa.Text, nullable=False, comment="proxy or real"),
        sa.Column("coverage_run_id", sa.Integer, nullable=False),
        sa.Column("coverage_ref_date", sa.Date),
        sa.Column("cells", sa.Integer, nullable=False, comment="1 km census cells the civic numbers are placed in"),
        sa.Column("geotype", sa.Text, nullable=False, comment="density class of the cells holding most civic numbers"),
        sa.Column("school_weight", sa.Float, nullable=False, comment="persons a school counts for in the benefit"),
        sa.Column("backhaul_eur", sa.Float),
        sa.Column("distribution_eur", sa.Float, nullable=False),
        sa.Column("drops_eur", sa.Float, nullable=False),
        sa.Column("capex_low_eur", sa.Float),
        sa.Column("capex_high_eur", sa.Float),
        sa.Column("eur_per_household", sa.Float),
        sa.Column("rank_low", sa.Integer, comment="rank by persons served per € of the low costs"),
        sa.Column("rank_central", sa.Integer, comment="rank by persons served per € of the central costs"),
        sa.Column("rank_high", sa.Integer, comment="rank by persons served per € of the high costs"),
        sa.Column("road_classes", sa.Text, comment="km of route per road class"),
    ):
        op.add_column("priority_item", column, schema="out")
    op.create_check_constraint(
        "cost_range", "priority_item", "capex_low_eur <= capex_eur AND capex_eur <= capex_high_eur", schema="out"
    )
    op.create_table(
        "priority_placement",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("out.analysis_run.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("grd_id", sa.Text, primary_key=True),
        sa.Column("pro_com_t", sa.Text, nullable=False),
        sa.Column("civici", sa.Integer, nullable=False),
        sa.Column("civici_by_street", sa.Integer, nullable=False, comment="of which placed by a named street"),
        sa.Column("population", sa.Float, nullable=False, comment="census population of the cell inside the comune"),
        sa.Column("density_per_km2", sa.Float, nullable=False),
        sa.Column("geotype", sa.Text, nullable=False),
        sa.Column("distribution_eur", sa.Float, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=32632, spatial_index=False), nullable=False),
        sa.CheckConstraint("civici >= 0", name="civici"),
        schema="out",
    )
    op.execute(PLACEMENT_FEATURES)


def downgrade() -> None:
    op.execute("DROP VIEW out.priority_placement_features")
    op.drop_table("priority_placement", schema="out")
    op.drop_constraint("ck_priority_item_cost_range", "priority_item", schema="out")
    for name in (
        "scenario", "location", "roads_status", "sources_status", "coverage_run_id", "coverage_ref_date", "cells",
        "geotype", "school_weight", "backhaul_eur", "distribution_eur", "drops_eur", "capex_low_eur",
        "capex_high_eur", "eur_per_household", "rank_low", "rank_central", "rank_high", "road_classes",
    ):  # fmt: skip
        op.drop_column("priority_item", name, schema="out")
    op.add_column(
        "priority_item",
        sa.Column("geocode_quality", sa.Text, nullable=False, server_default="settlement"),
        schema="out",
    )
    op.execute("DROP VIEW out.school_connectivity_features")
    op.drop_constraint("ck_school_connectivity_status", "school_connectivity", schema="out")
    for name in ("status", "match_method", "match_confidence"):
        op.drop_column("school_connectivity", name, schema="out")
    op.execute("DROP VIEW out.coverage_area_features")
    op.execute("DROP VIEW out.coverage_features")
    outlook = list(OUTLOOK_NAMES)
    for name in ("civici_a", "civici_b", "civici_c", "municipalities_by_class", *outlook):
        op.drop_column("coverage_area", name, schema="out")
    for name in ("anomalies", "eu_area_reason", "census_population", "census_population_without_ftth", *outlook):
        op.drop_column("coverage_comune", name, schema="out")
    op.execute(
        "CREATE VIEW out.coverage_features AS SELECT cc.pro_com_t || '_' || to_char(cc.ref_date, 'YYYY-MM-DD') AS "
        "feature_id, cc.run_id, cc.pro_com_t, c.comune, cc.cod_uts, cc.ref_date, cc.population, cc.households, "
        "cc.households_ftth, cc.ftth_share, cc.fttc_present, cc.population_with_ftth, cc.population_without_ftth, "
        "cc.civici_a, cc.civici_b, cc.civici_c, cc.civici_unserved, cc.civici_per_1000, cc.gap_class, "
        "cc.eu_area_class, c.geom FROM out.coverage_comune cc JOIN ref.comune c USING (pro_com_t)"
    )
    op.drop_column("analysis_run", "summary", schema="out")
    op.execute("DROP VIEW cov.ookla_features")
    op.drop_table("ookla_speed", schema="cov")
    op.drop_table("popgrid_part", schema="ref")
    op.drop_table("popgrid_cell", schema="ref")
