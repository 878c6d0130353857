"""Coverage gaps per municipality, province and area, their change between reference dates, and the
connectivity of every school. Computed in PostGIS from the loaded layers; stored as an analysis run."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine, text

from geo.analysis.census import refresh_parts
from geo.analysis.grid import weighted_coverage
from geo.analysis.runs import AnalysisError, Run, insert_rows, run_analysis, sql
from geo.reference import CoverageRules, GapClasses, coverage_rules, gap_classes, school_levels, speed_thresholds

if TYPE_CHECKING:
    from geo.analysis.partitioned import Partitioned

KIND = "coverage"
STEPS = (
    "coverage_comune",
    "census_population",
    "coverage_area",
    "coverage_outlook",
    "coverage_change",
    "school_connectivity",
    "grid_coverage",
)
EU_AREA_REASON = (
    "operator-level data are missing: the EU 2023 Guidelines count the networks able to provide 1 Gbit/s down and "
    "150 Mbit/s up per area, and neither the AGCOM municipal table nor the Infratel list names operators"
)
DECREASE_FLAG = (
    ", anomalies = CASE WHEN r.per_year < 0 THEN concat_ws(';', t.anomalies, 'ftth_decrease') ELSE t.anomalies END"
)
OUTLOOK_TARGETS = {
    "out.coverage_comune": ("r.level = 'municipality' AND r.code = t.pro_com_t", True),
    "out.coverage_area": ("r.level = t.level AND r.code = t.code", False),
}


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


def _grid_coverage(
    conn: Connection,
    run_id: int,
    coverage: str,
    population: str,
    weigh: Callable[[Path, Path, gpd.GeoDataFrame], pd.DataFrame] = weighted_coverage,
) -> None:
    """Population-weighted coverage from a coverage grid weighted by a population grid (computed by ``weigh``)."""
    paths: dict[str, str] = dict(
        conn.execute(
            text("SELECT name, path FROM cov.raster WHERE name IN (:c, :p)"), {"c": coverage, "p": population}
        ).all()
    )
    missing = [p for p in paths.values() if not Path(p).exists()]
    if missing:
        raise AnalysisError(f"raster files have moved or gone: {missing}; ingest them again")
    comuni = gpd.read_postgis(text("SELECT pro_com_t, geom FROM ref.comune"), conn, geom_col="geom")
    stats = weigh(Path(paths[coverage]), Path(paths[population]), comuni)
    stats = stats.assign(run_id=run_id, coverage_raster=coverage, population_raster=population)
    columns = ["run_id", "pro_com_t", "coverage_raster", "population_raster", "population", "population_covered"]
    insert_rows(conn, "out.grid_coverage", stats[[*columns, "population_uncovered", "covered_share"]])


def gap_class_sql() -> str:
    """The SQL expression of a row's gap class (it reads ``ftth_share`` and ``civici_per_1000``)."""
    return "\n".join(line for line in sql("gap_class").splitlines() if not line.startswith("--"))


def rows_sql() -> str:
    """The query of the municipal coverage rows (``sql/coverage_comune_rows.sql``) with its gap-class rule."""
    return sql("coverage_comune_rows").format(gap_class=gap_class_sql())


def class_parameters(classes: GapClasses) -> dict[str, list[Any]]:
    """The bound parameters :func:`gap_class_sql` reads."""
    return {
        "class_names": classes.names,
        "class_floors": [c.ftth_share_min for c in classes.classes],
        "class_ceilings": [
            None if math.isinf(c.civici_per_1000_max) else c.civici_per_1000_max for c in classes.classes
        ],
    }


def analyze(
    engine: Engine,
    population_grid: str | None = None,
    rules: CoverageRules | None = None,
    partitioned: Partitioned | None = None,
    classes: GapClasses | None = None,
) -> Run:
    """Run the coverage analysis on what the store holds now; returns the run (its id keys every result).

    ``rules`` and ``classes`` replace the reference tables' parameters and gap classes (for scenarios and tests);
    ``partitioned`` runs the per-municipality steps on a dask.distributed cluster (same results).
    """
    rules = rules or coverage_rules()
    classes = classes or gap_classes()
    parameters = {
        "population_date": _population_date(engine),
        "population_grid": population_grid or _latest_raster(engine, "population"),
        "coverage_grid": _latest_raster(engine, "coverage"),
        "min_listed_civics": int(rules["market_failure_min_listed_civics"]),
        "per_inhabitants": rules["per_inhabitants"],
        "persons_per_household_min": rules["persons_per_household_min"],
        "persons_per_household_max": rules["persons_per_household_max"],
        **class_parameters(classes),
        "eu_area_reason": EU_AREA_REASON,
        "outlook_year": int(rules["outlook_year"]),
        "outlook_target_share": rules["outlook_target_share"],
        "outlook_max_years": int(rules["outlook_max_years"]),
        "execution": partitioned.describe() if partitioned else "single process",
    }
    versions = {
        "speed_thresholds": speed_thresholds().version,
        "coverage_rules": rules.version,
        "gap_classes": classes.version,
        "school_levels": school_levels().version,
    }

    def body(conn: Connection, run: Run) -> None:
        with run.step("coverage_comune"):
            if partitioned is None:
                statement = sql("coverage_comune").format(rows=rows_sql())
                conn.execute(text(statement), {"run_id": run.id, "provinces": None, **parameters})
            else:
                insert_rows(conn, "out.coverage_comune", partitioned.coverage_rows(conn, parameters, run.id))
            # the next steps join this run's rows; without fresh statistics the planner takes them for none and
            # walks the whole run once per school (16 s instead of 1 s for the 62,000 schools of Italy)
            conn.execute(text("ANALYZE out.coverage_comune"))
        with run.step("census_population"):
            if refresh_parts(conn):
                conn.execute(text(sql("census_population")), {"run_id": run.id})
        with run.step("coverage_area"):
            conn.execute(text(sql("coverage_area")), {"run_id": run.id, **parameters})
        with run.step("coverage_outlook"):
            conn.execute(text(sql("coverage_outlook")), {"run_id": run.id, **parameters})
            conn.execute(text("ANALYZE coverage_outlook"))
            for table, (match, flag_decrease) in OUTLOOK_TARGETS.items():
                extra = DECREASE_FLAG if flag_decrease else ""
                statement = sql("coverage_outlook_update").format(table=table, match=match, extra=extra)
                conn.execute(text(statement), {"run_id": run.id, **parameters})
        for step in ("coverage_change", "school_connectivity"):
            with run.step(step):
                conn.execute(text(sql(step)), {"run_id": run.id, **parameters})
        if parameters["coverage_grid"] and parameters["population_grid"]:
            with run.step("grid_coverage"):
                weigh = partitioned.weighted_coverage if partitioned else weighted_coverage
                grids = str(parameters["coverage_grid"]), str(parameters["population_grid"])
                _grid_coverage(conn, run.id, *grids, weigh)

    return run_analysis(engine, KIND, parameters, versions, body)
