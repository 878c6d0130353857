"""Coverage gaps per municipality, province and area, their change between reference dates, and the
connectivity of every school. Computed in PostGIS from the loaded layers; stored as an analysis run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
from sqlalchemy import Connection, Engine, text

from geo.analysis.grid import weighted_coverage
from geo.analysis.runs import AnalysisError, Run, run_analysis, sql
from geo.reference import CoverageRules, coverage_rules, school_levels, speed_thresholds

KIND = "coverage"
STEPS = ("coverage_comune", "coverage_area", "coverage_change", "school_connectivity", "grid_coverage")


def _population_date(engine: Engine) -> dt.date:
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(ref_date) FROM ref.population")).scalar()
        agcom = conn.execute(text("SELECT count(*) FROM cov.agcom_comune")).scalar()
    if latest is None or not agcom:
        raise AnalysisError("coverage needs population and AGCOM data loaded: run 'areavasta ingest all'")
    return latest


def _latest_raster(engine: Engine, kind: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT name FROM cov.raster WHERE kind = :k ORDER BY ingest_run_id DESC, name LIMIT 1"), {"k": kind}
        ).scalar()


def _grid_coverage(conn: Connection, run_id: int, coverage: str, population: str) -> None:
    """Population-weighted coverage from a coverage grid weighted by a population grid."""
    paths = dict(
        conn.execute(
            text("SELECT name, path FROM cov.raster WHERE name IN (:c, :p)"), {"c": coverage, "p": population}
        ).all()
    )
    missing = [p for p in paths.values() if not Path(p).exists()]
    if missing:
        raise AnalysisError(f"raster files have moved or gone: {missing}; ingest them again")
    comuni = gpd.read_postgis(text("SELECT pro_com_t, geom FROM ref.comune"), conn, geom_col="geom")
    stats = weighted_coverage(Path(paths[coverage]), Path(paths[population]), comuni)
    stats = stats.assign(run_id=run_id, coverage_raster=coverage, population_raster=population)
    conn.execute(
        text(
            "INSERT INTO out.grid_coverage (run_id, pro_com_t, coverage_raster, population_raster, population, "
            "population_covered, population_uncovered, covered_share) VALUES (:run_id, :pro_com_t, "
            ":coverage_raster, :population_raster, :population, :population_covered, :population_uncovered, "
            ":covered_share)"
        ),
        stats.astype(object).where(stats.notna(), None).to_dict("records"),
    )


def analyze(engine: Engine, population_grid: str | None = None, rules: CoverageRules | None = None) -> Run:
    """Run the coverage analysis on what the store holds now; returns the run (its id keys every result).

    ``rules`` replaces the reference table's classification parameters (for scenarios and tests).
    """
    rules = rules or coverage_rules()
    parameters = {
        "population_date": _population_date(engine),
        "population_grid": population_grid or _latest_raster(engine, "population"),
        "coverage_grid": _latest_raster(engine, "coverage"),
        "min_listed_civics": int(rules["market_failure_min_listed_civics"]),
        "per_inhabitants": rules["per_inhabitants"],
    }
    versions = {
        "speed_thresholds": speed_thresholds().version,
        "coverage_rules": rules.version,
        "school_levels": school_levels().version,
    }

    def body(conn: Connection, run: Run) -> None:
        for step in STEPS[:-1]:
            with run.step(step):
                conn.execute(text(sql(step)), {"run_id": run.id, **parameters})
        if parameters["coverage_grid"] and parameters["population_grid"]:
            with run.step("grid_coverage"):
                _grid_coverage(conn, run.id, parameters["coverage_grid"], parameters["population_grid"])

    return run_analysis(engine, KIND, parameters, versions, body)
