"""Infratel "Mappatura 2025": civic numbers without a network above 300 Mbit/s (peak) by 2028.

The list has street and civic number, no coordinates. Rows are joined to municipalities by ISTAT code only
(names have homonyms: Castro BG / Castro LE). Street names and civic numbers are normalised for matching;
characters the source lost (U+FFFD) are flagged; duplicate addresses are kept and linked to their first row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from geo.addresses import LOST, normalise_street, parse_civic
from geo.ingest.fields import loaded_municipalities, map_distinct, municipality_codes
from geo.ingest.layers import INFRATEL, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, flag, run_ingest
from geo.ingest.tabular import read_table
from geo.models import InfratelCivico

LAYER = INFRATEL.name
# Publication of the results of "Mappatura 2025 delle reti fisse" (Infratel, 5 Aug 2025); see SOURCE.md.
PUBLISHED = dt.date(2025, 8, 5)
CLASSES = ("A", "B", "C")

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("com_istat_code", "pro_com_t", "pro_com", "codice_istat", "istat", "cod_istat"),
    "comune_source": ("comune_infratel", "comune"),
    "strada": ("strada", "indirizzo", "odonimo", "via"),
    "civico": ("civico", "numero_civico", "numero civico"),
    "barrato": ("barrato", "esponente"),
    "caratteristica": ("caratteristica", "classe", "categoria"),
}
REQUIRED = ("strada", "civico", "caratteristica")


@dataclass
class InfratelList:
    """An Infratel list of municipalities read as text, with its reference date and source."""

    rows: pd.DataFrame
    ref_date: dt.date
    source: Source
    label: str


def read(path: Path, ref_date: dt.date | None = None) -> InfratelList:
    """Read one Infratel list; IngestError when it has no ISTAT code column or no rows. The date defaults to the
    publication's."""
    table = read_table(path, COLUMNS, REQUIRED)
    if "code" not in table.frame.columns:
        raise IngestError(
            table.label,
            [
                Problem(
                    "wrong header: no ISTAT municipality code column (com_istat_code/pro_com); "
                    "joining by municipality name is refused because names have homonyms"
                )
            ],
        )
    if table.frame.empty:
        raise IngestError(table.label, [Problem("the file holds no rows")])
    return InfratelList(table.frame, ref_date or PUBLISHED, Source.from_path(path), table.label)


def validate(
    listing: InfratelList, known: set[str], provinces: tuple[str, ...] | None
) -> tuple[pd.DataFrame, dict[str, Any], list[Problem]]:
    """Typed, normalised rows, and the rows left out for naming no loaded municipality (see
    :func:`municipality_codes`); raises with every bad row."""
    rows, problems, unknown = municipality_codes(listing.rows, "code", provinces, known, "com_istat_code")
    civico = rows["civico"]
    if "barrato" in rows.columns:
        civico = (civico + "/" + rows["barrato"]).where(rows["barrato"] != "", civico)
    parsed = map_distinct(civico, parse_civic)

    def civic(attribute: str) -> pd.Series:
        # factorising the text (fast) rather than the parsed objects (a Python hash each)
        return map_distinct(civico, lambda value: getattr(parse_civic(value), attribute, None))

    problems += flag(parsed.isna(), rows["_row"], civico, "civic number {value!r} is unreadable", "civico")
    klass = rows["caratteristica"].str.upper()
    problems += flag(~klass.isin(CLASSES), rows["_row"], klass, "class {value!r} is not A, B or C", "caratteristica")
    problems += flag(rows["strada"] == "", rows["_row"], rows["strada"], "street name is empty", "strada")
    if problems:
        raise IngestError(listing.label, problems + unknown)
    out = pd.DataFrame(
        {
            "id": rows["_row"].astype("int64"),
            "pro_com_t": rows["pro_com_t"],
            "ref_date": listing.ref_date,
            "comune_source": rows["comune_source"] if "comune_source" in rows.columns else None,
            "strada": rows["strada"],
            "strada_norm": map_distinct(rows["strada"], normalise_street),
            "civico": civico,
            "numero": civic("numero").astype("Int64"),
            "esponente": civic("esponente"),
            "civico_norm": civic("key"),
            "caratteristica": klass,
        }
    )
    lost = out["strada"].str.contains(LOST, regex=False)
    if "comune_source" in rows.columns:
        lost |= out["comune_source"].fillna("").str.contains(LOST, regex=False)
    out["lost_characters"] = lost
    address = ["pro_com_t", "strada_norm", "civico_norm"]
    first = out.groupby(address, sort=False)["id"].transform("min")
    # Rows without a number ("0", "SNC") on one street are distinct buildings, not repeats of one address.
    out["duplicate_of"] = first.where((first != out["id"]) & (out["civico_norm"] != "")).astype("Int64")
    details = {
        "municipalities": int(out["pro_com_t"].nunique()),
        "by_class": {k: int(v) for k, v in out["caratteristica"].value_counts().sort_index().items()},
        "duplicates_kept": int(out["duplicate_of"].notna().sum()),
        "exact_duplicates_in_source": int(rows.duplicated(["code", "strada", "civico"]).sum()),
        "rows_with_lost_characters": int(lost.sum()),
        "without_number": int((out["civico_norm"] == "").sum()),
        "duplicate_policy": "kept; a numbered address repeated after normalisation points to its first row",
    }
    return out, details, unknown


def ingest(engine: Engine, listing: InfratelList, provinces: tuple[str, ...] | None) -> IngestResult:
    """Replace the whole list (it is one national snapshot) in one transaction."""

    def _prepare(conn: Connection) -> Prepared:
        known = loaded_municipalities(conn, listing.label)
        rows, details, unknown = validate(listing, known, provinces)
        return Prepared(
            loads=[TableLoad(InfratelCivico.__table__, rows)],
            rows_read=len(listing.rows),
            rejected=unknown,
            reference_date=listing.ref_date,
            details=details,
        )

    return run_ingest(engine, LAYER, listing.source, _prepare)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One Infratel list, as ``ingest all`` loads it."""
    return ingest(engine, read(path, context.ref_date), context.provinces)
