"""Coverage gaps per municipality, province and area, their change between reference dates, and the
connectivity of every school. Computed in PostGIS from the loaded layers; stored as an analysis run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, text

from geo.analysis.runs import AnalysisError, Run, run_analysis, sql
from geo.reference import CoverageRules, coverage_rules, school_levels, speed_thresholds

KIND = "coverage"
STEPS = ("coverage_comune", "coverage_area", "coverage_change", "school_connectivity")


def _population_date(engine: Engine) -> dt.date:
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(ref_date) FROM ref.population")).scalar()
        agcom = conn.execute(text("SELECT count(*) FROM cov.agcom_comune")).scalar()
    if latest is None or not agcom:
        raise AnalysisError("coverage needs population and AGCOM data loaded: run 'areavasta ingest all'")
    return latest


def _population_grid(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT max(name) FROM cov.raster WHERE kind = 'population'")).scalar()


def analyze(engine: Engine, population_grid: str | None = None, rules: CoverageRules | None = None) -> Run:
    """Run the coverage analysis on what the store holds now; returns the run (its id keys every result).

    ``rules`` replaces the reference table's classification parameters (for scenarios and tests).
    """
    rules = rules or coverage_rules()
    parameters = {
        "population_date": _population_date(engine),
        "population_grid": population_grid or _population_grid(engine),
        "min_listed_civics": int(rules["market_failure_min_listed_civics"]),
        "per_inhabitants": rules["per_inhabitants"],
    }
    versions = {
        "speed_thresholds": speed_thresholds().version,
        "coverage_rules": rules.version,
        "school_levels": school_levels().version,
    }

    def body(conn: Connection, run: Run) -> None:
        for step in STEPS:
            with run.step(step):
                conn.execute(text(sql(step)), {"run_id": run.id, **parameters})

    return run_analysis(engine, KIND, parameters, versions, body)
