"""Priority lists as files for infrastructure officers, each saying what it rests on: CSV (UTF-8, codes as text,
input status on every row), XLSX (a ``note`` sheet first, a summary and one sheet per province; numbers as numbers;
text that a spreadsheet would run as a formula kept as text), GeoPackage (targets, routes, the modelled placement
of civic numbers, and the note as a table) and GeoJSON (the note as a member of the collection).

The targets, routes and placements have the columns of the ``priorities``, ``priority-routes`` and
``priority-placements`` collections (geo.models), typed by the model and written by geo.writers as the
OGC downloads are: the same run gives the same fields there and here (in the working CRS, EPSG:32632, here; GeoJSON
in WGS 84)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, Table, func, select, text

from geo import writers
from geo.analysis.costs import BOUNDS
from geo.analysis.runs import AnalysisError, latest_run
from geo.italian import euro, number
from geo.models import (
    PLACEMENT_PROPERTIES,
    ROUTE_PROPERTIES,
    TARGET_PROPERTIES,
    WORKING_SRID,
    PriorityItem,
    priority_placement_features,
)

FORMATS = ("csv", "xlsx", "gpkg", "geojson")
STATUS_IT = {
    "V": "verificato sulla fonte primaria",
    "S": "fonte secondaria",
    "M": "a memoria, da verificare",
    "A": "ipotesi di progetto",
    "C": "calcolato da valori documentati",
}
COLUMN_NOTES = {
    "rank": "posizione: prima i selezionati nell'ordine di scelta, poi gli altri per persone servite per euro",
    "kind": "civic_cluster = civici dell'elenco Infratel di un centro abitato; school = scuola nell'elenco",
    "location": "street = civici collocati per via (strade rilevate con nome); modelled = ripartiti sulle celle del "
    "Censimento 2021 per popolazione (modello); street_and_modelled = in parte e in parte; geocoded/approximate = "
    "scuole",
    "population": "persone stimate ai civici (civici × famiglie per civico × persone per famiglia del comune)",
    "households": "famiglie stimate ai civici",
    "cells": "celle da 1 km su cui sono collocati i civici",
    "geotype": "classe di densità della cella con più civici (DOMAIN 4.2)",
    "benefit": "persone servite: persone + peso per scuola × scuole (pesi dello scenario)",
    "backhaul_eur": "quota della dorsale condivisa (albero di Steiner di tutti i bersagli), ripartita per civici",
    "distribution_eur": "rete che passa davanti a ogni civico, per classe di densità della sua cella",
    "drops_eur": "un allaccio per civico (uno per scuola)",
    "capex_low_eur": "costo con i valori bassi di ogni voce",
    "capex_eur": "costo con i valori centrali (dorsale condivisa + distribuzione + allacci)",
    "capex_high_eur": "costo con i valori alti di ogni voce",
    "marginal_capex_eur": "selezionati: costo di realizzazione sulla rete già posata dai selezionati prima; gli altri: "
    "costo per aggiungerlo alla rete di tutti i selezionati (più di quanto resta del budget; il tracciato mostrato "
    "parte invece dalla fonte in fibra)",
    "above_cost_cap": "costo per civico o scuola servita, allacci esclusi, oltre la soglia della nota: da confrontare "
    "con FWA o satellite; vuoto se nessun percorso o in un run precedente alla soglia",
    "cumulative_eur": "somma dei costi marginali dei selezionati fin qui: è la somma confrontata con il budget",
    "rank_low": "posizione per persone servite per euro con i costi bassi (confrontare con rank_central, non con rank)",
    "rank_central": "posizione per persone servite per euro con i costi centrali, senza il vincolo di budget",
    "rank_high": "posizione per persone servite per euro con i costi alti (confrontare con rank_central)",
    "road_classes": "km del percorso per classe di strada",
    "roads_status": "synthetic = rete stradale SINTETICA (generata, non rilevata); surveyed = OSM",
    "sources_status": "proxy = fonti in fibra stimate, non censite (nessun layer di PoP o dorsali disponibile)",
}


@dataclass
class Loaded:
    """A stored priorities run: its record, targets, routes and placements."""

    run_id: int
    record: dict[str, Any]
    targets: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    placements: gpd.GeoDataFrame

    @property
    def scenario(self) -> str:
        """The scenario name the run's parameters give (``default`` when unnamed)."""
        return str(self.record["parameters"].get("name", "default"))

    @property
    def file_stem(self) -> str:
        """The stem of this run's download file names: ``priorities-run<id>-<scenario>``."""
        return f"priorities-run{self.run_id}-{self.scenario}"


def load(engine: Engine, run_id: int | None = None, scenario: str | None = None) -> Loaded:
    """A priorities run: ``run_id``, else the latest of ``scenario``, else the latest."""
    with engine.connect() as conn:
        run_id = run_id or latest_run(conn, "priorities", scenario)
        if run_id is None:
            which = f" of scenario {scenario!r}" if scenario else ""
            raise AnalysisError(f"no priorities run{which}: run 'areavasta priorities' first")
        record = conn.execute(
            text(
                "SELECT parameters, reference_versions, summary, started_at, finished_at FROM out.analysis_run "
                "WHERE id = :r AND kind = 'priorities' AND status = 'succeeded'"
            ),
            {"r": run_id},
        ).one_or_none()
        if record is None:
            raise AnalysisError(f"no successful priorities run {run_id}")
        items = PriorityItem.__table__
        targets = _features(conn, items, TARGET_PROPERTIES, "geom", run_id, ("rank",))
        routes = _features(conn, items, ROUTE_PROPERTIES, "route", run_id, ("rank",))
        placements = _features(
            conn, priority_placement_features, PLACEMENT_PROPERTIES, "geom", run_id, ("target_id", "grd_id")
        )
    if targets.empty:
        raise AnalysisError(f"priorities run {run_id} has no items")
    return Loaded(run_id, dict(record._mapping), targets, routes, placements)


def _features(
    conn: Connection, table: Table, names: Sequence[str], geometry: str, run_id: int, order: Sequence[str]
) -> gpd.GeoDataFrame:
    """The run's rows of ``table`` that have a ``geometry``: the columns ``names`` (typed by the model) and it."""
    statement = (
        select(*(table.c[name] for name in names), func.ST_AsBinary(table.c[geometry]))
        .where(table.c.run_id == run_id, table.c[geometry].is_not(None))
        .order_by(*(table.c[name] for name in order))
    )
    rows = conn.execute(statement).all()
    return writers.features(
        [row[:-1] for row in rows],
        {name: table.c[name].type for name in names},
        [shapely.from_wkb(bytes(row[-1])) for row in rows],
        f"EPSG:{WORKING_SRID}",
    )


def note(loaded: Loaded) -> pd.DataFrame:
    """What the list rests on, in Italian: scenario, run, inputs and their status, every cost figure with its source,
    price year and status, how to read the ranges, and the figures of the whole list beside the benchmarks."""
    parameters, summary = loaded.record["parameters"], loaded.record["summary"] or {}
    first = loaded.targets.iloc[0]
    synthetic = first["roads_status"] == "synthetic"
    rows: list[tuple[str, str, str, str]] = [
        ("Scenario", loaded.scenario, "scenari in geo/reference/scenarios.json", "A"),
        ("Budget", euro(parameters["budget_eur"]), "scenario", "A"),
        ("Esecuzione (run)", f"{loaded.run_id} del {loaded.record['finished_at']:%d/%m/%Y %H:%M}", "areavasta", ""),
        (
            "Analisi di copertura",
            f"run {first['coverage_run_id']}, AGCOM al {first['coverage_ref_date']:%d/%m/%Y}",
            "AGCOM Broadband Map; Infratel Mappatura 2025; ISTAT",
            "V",
        ),
        (
            "Rete stradale",
            "SINTETICA: generata dai centri abitati, non rilevata; percorsi e lunghezze sono indicativi"
            if synthetic
            else "OpenStreetMap",
            "areavasta synthetic generator" if synthetic else "OpenStreetMap",
            "A" if synthetic else "V",
        ),
        (
            "Fonti in fibra",
            "proxy: centri abitati principali dei comuni con quota di famiglie FTTH (AGCOM) di almeno "
            f"{number(parameters['fibre_source_min_ftth_share'], 2)}; nessun layer di PoP o dorsali",
            "AGCOM",
            "A",
        ),
        (
            "Collocazione dei civici",
            "l'elenco Infratel non ha coordinate: i civici di una via che una rete stradale rilevata nomina nello "
            f"stesso comune vanno sulla cella della via ({number(summary.get('civici_placed_by_street', 0))} civici); "
            "gli altri sono ripartiti sulle celle da 1 km del Censimento 2021 in proporzione alla popolazione "
            "(modellata); le celle sono raggruppate per centro abitato",
            "Eurostat Census 2021 population grid; OSM centri abitati",
            "A",
        ),
        ("Peso di una scuola", f"{number(parameters['weight_schools'])} persone", "scenario", "A"),
    ]
    # the figures the run used, as it stored them (the table may have changed since)
    for item, values in (summary.get("unit_costs") or {}).items():
        rendered = " / ".join(number(values[b], 2 if values[b] < 10 else 0) for b in BOUNDS)
        source = values["source"]
        status = source[-2] if source.endswith("]") else ""
        rows.append((f"Voce di costo: {item}", f"{rendered} (basso / centrale / alto)", source, status))
    rows.append(
        (
            "Anno dei prezzi",
            f"{summary.get('price_year', '')} (indice ISTAT del costo di costruzione, valori da verificare)",
            "ISTAT",
            "M",
        )
    )
    per_civic = summary.get("eur_per_civico_list") or {}
    if per_civic:
        rows.append(
            (
                "Euro per civico, intera lista",
                " / ".join(euro(per_civic[b]) for b in BOUNDS) + " (basso / centrale / alto)",
                "ordine di grandezza: Italia 1 Giga, lotto Lombardia (€ 529 pubblici, ≥ € 755 totali per civico, "
                "senza allacci), valori che sono anche quelli bassi e centrali della distribuzione rurale",
                "C",
            )
        )
    selected = summary.get("selected_capex_eur")
    if selected:
        rows.append(
            (
                "Costo dei selezionati",
                f"{summary.get('selected', 0)} bersagli: "
                + " / ".join(euro(selected[b]) for b in BOUNDS)
                + " (basso / centrale / alto) come quota della rete di tutta la lista; la spesa nella selezione, "
                f"confrontata con il budget, è {euro(summary['spent_eur'])} di {euro(parameters['budget_eur'])} "
                "(costi centrali marginali: ai costi alti sarebbe maggiore)",
                "",
                "C",
            )
        )
    if summary.get("cost_cap_eur_per_location") is not None:
        rows.append(
            (
                "Soglia di costo per civico o scuola",
                f"{euro(summary['cost_cap_eur_per_location'])} per civico o scuola servita, allacci esclusi: "
                f"{number(summary['above_cost_cap'])} bersagli oltre (colonna above_cost_cap), da confrontare con FWA "
                "o satellite",
                f"{number(summary['cost_cap_factor'])} volte il costo totale per civico del lotto Italia 1 Giga "
                "Lombardia (2022, senza allacci), come chiede la guida di dominio del progetto",
                "A",
            )
        )
    if summary.get("eur_per_civico_median") is not None:
        rows.append(("Euro per civico, mediana dei bersagli", euro(summary["eur_per_civico_median"]), "", "C"))
    stability = summary.get("ranking_stability") or {}
    for key, label in (
        ("spearman_low_central", "costi bassi"),
        ("spearman_high_central", "costi alti"),
        ("spearman_source_threshold_minus", "soglia delle fonti −0,1"),
        ("spearman_source_threshold_plus", "soglia delle fonti +0,1"),
    ):
        if key in stability:
            value = "n.d." if stability[key] is None else number(stability[key], 3)
            rows.append((f"Stabilità dell'ordine ({label})", f"Spearman {value} rispetto all'ordine centrale", "", "C"))
    rows.append(
        (
            "Coordinate",
            f"EPSG:{WORKING_SRID} (WGS 84 / UTM fuso 32N, metri): x e y nei fogli, geometry_wkt nel CSV, le geometrie "
            "nel GeoPackage; il GeoJSON è in WGS 84 (longitudine, latitudine)",
            "",
            "",
        )
    )
    rows.append(
        (
            "Come leggere gli intervalli",
            "capex_low_eur ≤ capex_eur ≤ capex_high_eur: ogni voce ai suoi valori bassi, centrali e alti; il budget "
            "si confronta con cumulative_eur (somma dei costi marginali dei selezionati)",
            "",
            "",
        )
    )
    rows += [(f"Colonna {name}", meaning, "", "") for name, meaning in COLUMN_NOTES.items()]
    rows += [(f"Stato {code}", meaning, "", "") for code, meaning in STATUS_IT.items()]
    return pd.DataFrame(rows, columns=["voce", "valore", "fonte", "stato"])


def to_csv(loaded: Loaded) -> bytes:
    """The targets as CSV; a name a spreadsheet would run as a formula is written with a leading ``'``."""
    return writers.to_csv(loaded.targets)


def to_xlsx(loaded: Loaded) -> bytes:
    """The note, a summary per province, and the targets of each province."""
    targets = loaded.targets
    summary = (
        targets.groupby("cod_uts")
        .agg(
            bersagli=("target_id", "count"),
            selezionati=("selected", "sum"),
            civici=("civici", "sum"),
            scuole=("schools", "sum"),
            capex_low_eur=("capex_low_eur", "sum"),
            capex_eur=("capex_eur", "sum"),
            capex_high_eur=("capex_high_eur", "sum"),
        )
        .reset_index()
    )
    chosen = targets[targets["selected"]].groupby("cod_uts")["marginal_capex_eur"].sum()
    summary["selezionati_eur"] = summary["cod_uts"].map(chosen).fillna(0.0)
    provinces = [(f"provincia {province}", part) for province, part in targets.groupby("cod_uts")]
    return writers.to_xlsx([("note", note(loaded)), ("riepilogo", summary), *provinces])


def to_gpkg(loaded: Loaded) -> bytes:
    """Targets, routes and placements (the layers that have rows) and the note as a table."""
    layers = [("targets", loaded.targets), ("routes", loaded.routes), ("placements", loaded.placements)]
    return writers.to_gpkg([*((name, table) for name, table in layers if not table.empty), ("note", note(loaded))])


def to_geojson(loaded: Loaded) -> bytes:
    """The targets as GeoJSON (EPSG:4326, UTF-8 bytes) with the note as a foreign member ``note``."""
    targets = loaded.targets.assign(coverage_ref_date=loaded.targets["coverage_ref_date"].astype(str))
    collection = json.loads(targets.to_crs(4326).to_json(drop_id=True, na="null"))
    collection["note"] = note(loaded).to_dict("records")  # a foreign member (RFC 7946 §6.1)
    return json.dumps(collection, ensure_ascii=False, default=str).encode("utf-8")


def export(engine: Engine, fmt: str, run_id: int | None = None, scenario: str | None = None) -> tuple[Loaded, bytes]:
    """The run's list in ``fmt``; the loaded run names the file (``file_stem``)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    loaded = load(engine, run_id, scenario)
    body = {"csv": to_csv, "xlsx": to_xlsx, "gpkg": to_gpkg, "geojson": to_geojson}[fmt](loaded)
    return loaded, body
