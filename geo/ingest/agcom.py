"""AGCOM Broadband Map, municipal table ("Reportistica … Comuni.csv"): wired-network reach per municipality.

One national file per reference date; every date is kept (time series). Columns are found by their header
names (the publisher's Italian headers or the snake_case names of derived copies), never by position.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from geo.ingest.fields import loaded_municipalities, municipality_codes
from geo.ingest.layers import AGCOM, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, flag, run_ingest
from geo.ingest.tabular import parse_numbers, read_table
from geo.models import AGCOM_COUNTS, AgcomComune

LAYER = AGCOM.name
FILE_PATTERN = re.compile(AGCOM.file_name or "", re.IGNORECASE)

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("pro_com", "pro_com_t", "com_istat_code", "codice istat", "istat"),
    "comune_source": ("comune",),
    "ref_date": ("data_rilevazione", "data rilevazione"),
    "celle20m_raggiunte": ("Celle 20m x 20m raggiunte", "celle20m_raggiunte"),
    "punti_dichiarati": ("Punti dichiarati", "punti_dichiarati"),
    "punti_distinti_5m": ("Punti geograficamente distinti (passo 5m)", "punti_distinti_5m"),
    "indirizzi_distinti": ("Indirizzi postali distinti (se fornito/disponibile)", "indirizzi_distinti"),
    "celle20m_ftth": ("Celle 20m x 20m raggiunte FTTH", "celle20m_ftth"),
    "punti_dichiarati_ftth": ("Punti dichiarati FTTH", "punti_dichiarati_ftth"),
    "punti_distinti_5m_ftth": ("Punti Geograficamente Distinti (passo 5m) FTTH", "punti_distinti_5m_ftth"),
    "indirizzi_distinti_ftth": ("Indirizzi postali distinti (se forniti/disponibili) FTTH", "indirizzi_distinti_ftth"),
    "celle20m_fttc": ("Celle 20m x 20m raggiunte FTTC", "celle20m_fttc"),
    "famiglie_residenti": ("Famiglie Residenti (calcolato)", "famiglie_residenti"),
    "famiglie_raggiunte_ftth": ("Famiglie raggiunte FTTH (calcolato)", "famiglie_raggiunte_ftth"),
}
REQUIRED = ("code", "celle20m_ftth", "famiglie_residenti", "famiglie_raggiunte_ftth")
# FTTH figures the publisher leaves blank where no FTTH cell is reached: blank then means 0, not unknown.
FTTH_BLANK_MEANS_ZERO = (
    "punti_dichiarati_ftth",
    "punti_distinti_5m_ftth",
    "indirizzi_distinti_ftth",
    "famiglie_raggiunte_ftth",
)


@dataclass
class AgcomTable:
    """An AGCOM municipal table read as text, with its decimal separator, reference dates and source."""

    rows: pd.DataFrame
    decimal: str
    ref_dates: list[dt.date]
    source: Source
    label: str


def date_from_name(name: str) -> dt.date | None:
    """``Reportistica_250630_Comuni.csv`` → 2025-06-30."""
    match = FILE_PATTERN.search(name)
    if match is None:
        return None
    return dt.datetime.strptime(match.group("dataset"), "%y%m%d").date()


def read(path: Path, ref_date: dt.date | None = None) -> AgcomTable:
    """Read one AGCOM municipal table; the reference date comes from ``ref_date``, the name, or a date column."""
    table = read_table(path, COLUMNS, REQUIRED)
    rows = table.frame
    when = ref_date or date_from_name(path.name)
    if when is not None:
        rows["ref_date"] = when
    elif "ref_date" in rows.columns:
        parsed = pd.to_datetime(rows["ref_date"], errors="coerce", format="mixed", dayfirst=False)
        bad = parsed.isna()
        if bad.any():
            raise IngestError(table.label, flag(bad, rows["_row"], rows["ref_date"], "{value!r} is not a date", "data"))
        rows["ref_date"] = parsed.dt.date
    else:
        raise IngestError(table.label, [Problem("no reference date: give --ref-date (none in the name or columns)")])
    dates = sorted(set(rows["ref_date"]))
    return AgcomTable(rows, table.decimal, dates, Source.from_path(path), table.label)


def validate(
    table: AgcomTable, known: set[str], provinces: tuple[str, ...] | None
) -> tuple[pd.DataFrame, dict[str, Any], list[Problem]]:
    """Typed rows of the configured provinces, with blanks resolved, and the rows left out for naming no loaded
    municipality (see :func:`municipality_codes`); raises with every bad row."""
    rows, problems, unknown = municipality_codes(table.rows, "code", provinces, known, "pro_com")
    out = pd.DataFrame({"pro_com_t": rows["pro_com_t"], "ref_date": rows["ref_date"]})
    out["comune_source"] = rows["comune_source"] if "comune_source" in rows.columns else None
    present = [c for c in AGCOM_COUNTS if c in rows.columns]
    for column in AGCOM_COUNTS:
        if column not in present:
            out[column] = pd.NA
            continue
        out[column], found = parse_numbers(rows[column], rows["_row"], column, table.decimal, integer=True)
        problems += found
    dupes = out.duplicated(["pro_com_t", "ref_date"], keep="first")
    problems += flag(dupes, rows["_row"], out["pro_com_t"], "second row for municipality {value}")
    if problems:
        raise IngestError(table.label, problems + unknown)
    no_ftth = out["celle20m_ftth"] == 0
    zeroed = 0
    for column in FTTH_BLANK_MEANS_ZERO:
        fill = no_ftth & out[column].isna()
        zeroed += int(fill.sum())
        out.loc[fill, column] = 0
    implausible = out["famiglie_raggiunte_ftth"] > out["famiglie_residenti"]
    for column in AGCOM_COUNTS:
        out[column] = out[column].astype("Int64")
    details = {
        "municipalities": int(out["pro_com_t"].nunique()),
        "blank_ftth_read_as_zero": zeroed,
        "blank_left_unknown": {c: int(out[c].isna().sum()) for c in present if out[c].isna().any()},
        "columns_absent": [c for c in AGCOM_COUNTS if c not in present],
        "ftth_households_above_resident_households": out.loc[implausible, "pro_com_t"].tolist(),
    }
    return out, details, unknown


def ingest(engine: Engine, table: AgcomTable, provinces: tuple[str, ...] | None) -> IngestResult:
    """Replace the rows of the file's reference date(s), keeping every other date."""
    if len(table.ref_dates) != 1:
        raise IngestError(table.label, [Problem(f"one reference date per file expected, found {table.ref_dates}")])
    ref_date = table.ref_dates[0]

    def _prepare(conn: Connection) -> Prepared:
        known = loaded_municipalities(conn, table.label)
        rows, details, unknown = validate(table, known, provinces)
        if rows.empty:
            raise IngestError(table.label, [Problem("no rows for the configured provinces"), *unknown])
        return Prepared(
            loads=[TableLoad(AgcomComune.__table__, rows, scope={"ref_date": ref_date})],
            rows_read=len(table.rows),
            rejected=unknown,
            reference_date=ref_date,
            details=details,
        )

    return run_ingest(engine, LAYER, table.source, _prepare)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One AGCOM file, as ``ingest all`` loads it."""
    return ingest(engine, read(path, context.ref_date), context.provinces)
