"""Tables of the store (SQLAlchemy 2 + GeoAlchemy2), in one place.

Schemas: ``meta`` (provenance of ingest runs), ``ref`` (territorial reference layers), ``cov`` (broadband
coverage sources), ``school`` (school registries and their locations).
Geometry columns are in the working CRS, EPSG:32632, with GiST indexes created by the migrations.
ISTAT codes are zero-padded text, never integers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.srid import WORKING_SRID  # re-exported: the models' geometries are in it

# every stored point and polygon lies, finite, near Italy (metres in the working CRS; the bounding box is cheap to
# check, validity is the readers' job: geo.ingest.vector.to_multipolygons)
FINITE_POINT = "ST_X(geom) BETWEEN -2e6 AND 3e6 AND ST_Y(geom) BETWEEN 3e6 AND 7e6"
FINITE_POLYGON = "ST_XMin(geom) >= -2e6 AND ST_XMax(geom) <= 3e6 AND ST_YMin(geom) >= 3e6 AND ST_YMax(geom) <= 7e6"

PRO_COM_T_PATTERN = r"^\d{6}$"
COD_UTS_PATTERN = r"^\d{3}$"
CATASTALE_PATTERN = r"^[A-Z]\d{3}$"
SCHOOL_CODE_PATTERN = r"^[A-Z0-9]{10}$"

naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming)
    # every model here maps one table (SQLAlchemy types it as any FromClause)
    __table__: ClassVar[Table]  # type: ignore[misc]


def _polygon_column() -> Any:
    return mapped_column(Geometry("MULTIPOLYGON", srid=WORKING_SRID, spatial_index=False), nullable=False)


class IngestRun(Base):
    """Provenance of one ingest run: what was read, what was loaded, and how it ended."""

    __tablename__ = "ingest_run"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'unchanged', 'failed')", name="status"),
        {"schema": "meta"},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    source_sha256: Mapped[str | None] = mapped_column(Text)
    reference_date: Mapped[dt.date | None] = mapped_column(Date)
    rows_read: Mapped[int | None] = mapped_column(Integer)
    rows_loaded: Mapped[int | None] = mapped_column(Integer)
    rows_rejected: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="running")
    error: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Province(Base):
    """A province (unità territoriale sovracomunale), dissolved from its municipalities."""

    __tablename__ = "province"
    __table_args__ = (
        CheckConstraint(f"cod_uts ~ '{COD_UTS_PATTERN}'", name="cod_uts"),
        CheckConstraint(FINITE_POLYGON, name="geom_finite"),
        {"schema": "ref"},
    )

    cod_uts: Mapped[str] = mapped_column(Text, primary_key=True)
    den_uts: Mapped[str | None] = mapped_column(Text)
    sigla: Mapped[str | None] = mapped_column(Text)
    cod_reg: Mapped[str | None] = mapped_column(Text)
    vintage: Mapped[dt.date] = mapped_column(Date, nullable=False)
    geom: Mapped[Any] = _polygon_column()
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Comune(Base):
    """A municipality with its ISTAT boundary."""

    __tablename__ = "comune"
    __table_args__ = (
        CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"),
        CheckConstraint(f"cod_uts ~ '{COD_UTS_PATTERN}'", name="cod_uts"),
        CheckConstraint(f"cod_catastale ~ '{CATASTALE_PATTERN}'", name="cod_catastale"),
        CheckConstraint("left(pro_com_t, 3) = cod_uts", name="province_prefix"),
        CheckConstraint(FINITE_POLYGON, name="geom_finite"),
        {"schema": "ref"},
    )

    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    comune: Mapped[str] = mapped_column(Text, nullable=False)
    cod_uts: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    cod_catastale: Mapped[str | None] = mapped_column(Text)
    vintage: Mapped[dt.date] = mapped_column(Date, nullable=False)
    shape_area: Mapped[float | None] = mapped_column(Float, comment="reference area (m²) published with the source")
    geom: Mapped[Any] = _polygon_column()
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Population(Base):
    """Resident population of a municipality by single year of age (100 = 100 and over) and sex."""

    __tablename__ = "population"
    __table_args__ = (
        CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"),
        CheckConstraint("age BETWEEN 0 AND 120", name="age"),
        CheckConstraint("males >= 0 AND females >= 0 AND total = males + females", name="counts"),
        {"schema": "ref"},
    )

    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    age: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    males: Mapped[int] = mapped_column(Integer, nullable=False)
    females: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


def _point_column() -> Any:
    return mapped_column(Geometry("POINT", srid=WORKING_SRID, spatial_index=False), nullable=False)


AGCOM_COUNTS = (
    "celle20m_raggiunte",
    "punti_dichiarati",
    "punti_distinti_5m",
    "indirizzi_distinti",
    "celle20m_ftth",
    "punti_dichiarati_ftth",
    "punti_distinti_5m_ftth",
    "indirizzi_distinti_ftth",
    "celle20m_fttc",
    "famiglie_residenti",
    "famiglie_raggiunte_ftth",
)


class AgcomComune(Base):
    """AGCOM Broadband Map: wired-network reach of one municipality at one reference date (NULL = not published)."""

    __tablename__ = "agcom_comune"
    __table_args__ = (CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"), {"schema": "cov"})

    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    comune_source: Mapped[str | None] = mapped_column(Text)
    celle20m_raggiunte: Mapped[int | None] = mapped_column(Integer)
    punti_dichiarati: Mapped[int | None] = mapped_column(Integer)
    punti_distinti_5m: Mapped[int | None] = mapped_column(Integer)
    indirizzi_distinti: Mapped[int | None] = mapped_column(Integer)
    celle20m_ftth: Mapped[int | None] = mapped_column(Integer)
    punti_dichiarati_ftth: Mapped[int | None] = mapped_column(Integer)
    punti_distinti_5m_ftth: Mapped[int | None] = mapped_column(Integer)
    indirizzi_distinti_ftth: Mapped[int | None] = mapped_column(Integer)
    celle20m_fttc: Mapped[int | None] = mapped_column(Integer)
    famiglie_residenti: Mapped[int | None] = mapped_column(Integer)
    famiglie_raggiunte_ftth: Mapped[int | None] = mapped_column(Integer)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class InfratelCivico(Base):
    """A civic number listed by Infratel as without a network above 300 Mbit/s by 2028 (no coordinates)."""

    __tablename__ = "infratel_civico"
    __table_args__ = (
        CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"),
        CheckConstraint("caratteristica IN ('A', 'B', 'C')", name="caratteristica"),
        {"schema": "cov"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="data row of the source file")
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    ref_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    comune_source: Mapped[str | None] = mapped_column(Text)
    strada: Mapped[str] = mapped_column(Text, nullable=False)
    strada_norm: Mapped[str] = mapped_column(Text, nullable=False)
    civico: Mapped[str] = mapped_column(Text, nullable=False)
    numero: Mapped[int | None] = mapped_column(Integer)
    esponente: Mapped[str | None] = mapped_column(Text)
    civico_norm: Mapped[str] = mapped_column(Text, nullable=False)
    caratteristica: Mapped[str] = mapped_column(Text, nullable=False)
    lost_characters: Mapped[bool] = mapped_column(Boolean, nullable=False)
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger, comment="first row with the same address")
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Settlement(Base):
    """An inhabited place (OSM place=city/town/village/suburb) in a municipality."""

    __tablename__ = "settlement"
    __table_args__ = (
        CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"),
        CheckConstraint(FINITE_POINT, name="geom_finite"),
        {"schema": "ref"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    place: Mapped[str] = mapped_column(Text, nullable=False)
    geom: Mapped[Any] = _point_column()
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class PopulationCell(Base):
    """A cell of a population grid (Eurostat Census 2021, GEOSTAT): persons by broad age and the land share."""

    __tablename__ = "popgrid_cell"
    __table_args__ = (
        CheckConstraint("population >= 0", name="population"),
        CheckConstraint("land_share IS NULL OR land_share BETWEEN 0 AND 1", name="land_share"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        {"schema": "ref"},
    )

    grd_id: Mapped[str] = mapped_column(Text, primary_key=True, comment="INSPIRE id, CRS3035RES{res}mN{y}E{x}")
    res_m: Mapped[int] = mapped_column(Integer, nullable=False)
    population: Mapped[int] = mapped_column(Integer, nullable=False)
    age_lt15: Mapped[int | None] = mapped_column(Integer)
    age_1564: Mapped[int | None] = mapped_column(Integer)
    age_ge65: Mapped[int | None] = mapped_column(Integer)
    employed: Mapped[int | None] = mapped_column(Integer)
    land_share: Mapped[float | None] = mapped_column(Float, comment="share of the cell that is land (0-1)")
    confidential: Mapped[bool] = mapped_column(Boolean, nullable=False, comment="a figure was withheld (set to 0)")
    ref_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    geom: Mapped[Any] = mapped_column(Geometry("POLYGON", srid=WORKING_SRID, spatial_index=False), nullable=False)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class PopulationCellPart(Base):
    """A population-grid cell inside one municipality: its population shared by area, derived from the loaded grid
    and boundaries (the ingest runs it was computed from say whether it is current)."""

    __tablename__ = "popgrid_part"
    __table_args__ = ({"schema": "ref"},)  # GiST index on geom: migration 0010

    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    grd_id: Mapped[str] = mapped_column(Text, primary_key=True)
    population: Mapped[float] = mapped_column(Float, nullable=False)
    area_km2: Mapped[float] = mapped_column(Float, nullable=False)
    density_per_km2: Mapped[float] = mapped_column(Float, nullable=False, comment="cell population per km² of land")
    geom: Mapped[Any] = _polygon_column()
    popgrid_run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    boundaries_run_id: Mapped[int] = mapped_column(Integer, nullable=False)


class OoklaSpeed(Base):
    """Fixed-broadband speeds measured by Speedtest users (Ookla open data, aggregated by EDJNet) for one territory
    and quarter: context only (crowd-sourced, CC BY-NC-SA 4.0)."""

    __tablename__ = "ookla_speed"
    __table_args__ = (
        CheckConstraint("level IN ('region', 'province', 'municipality')", name="level"),
        CheckConstraint("avg_down_mbps >= 0 AND avg_up_mbps >= 0 AND avg_latency_ms >= 0", name="values"),
        {"schema": "cov"},
    )

    level: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True, comment="ISTAT code, or the NUTS 2 id of a region")
    quarter: Mapped[dt.date] = mapped_column(Date, primary_key=True, comment="first day of the quarter")
    name: Mapped[str | None] = mapped_column(Text)
    avg_down_mbps: Mapped[float] = mapped_column(Float, nullable=False)
    avg_up_mbps: Mapped[float] = mapped_column(Float, nullable=False)
    avg_latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Scuola(Base):
    """A school (plesso or institute) of the MIM registries, state or paritaria, with its ISTAT municipality."""

    __tablename__ = "scuola"
    __table_args__ = (
        CheckConstraint("codicescuola ~ '^[A-Z0-9]{10}$'", name="codicescuola"),
        CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"),
        CheckConstraint("gestione IN ('statale', 'paritaria')", name="gestione"),
        {"schema": "school"},
    )

    codicescuola: Mapped[str] = mapped_column(Text, primary_key=True)
    gestione: Mapped[str] = mapped_column(Text, nullable=False)
    anno_scolastico: Mapped[str] = mapped_column(Text, nullable=False, comment="e.g. 2025/26")
    codice_istituto: Mapped[str | None] = mapped_column(Text)
    denominazione: Mapped[str] = mapped_column(Text, nullable=False)
    indirizzo: Mapped[str | None] = mapped_column(Text)
    strada_norm: Mapped[str | None] = mapped_column(Text)
    civico_norm: Mapped[str | None] = mapped_column(Text)
    cap: Mapped[str | None] = mapped_column(Text)
    cod_catastale: Mapped[str] = mapped_column(Text, nullable=False)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    tipologia: Mapped[str | None] = mapped_column(Text, comment="DESCRIZIONETIPOLOGIAGRADOISTRUZIONESCUOLA")
    livello: Mapped[str] = mapped_column(Text, nullable=False)
    caratteristica: Mapped[str | None] = mapped_column(Text)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class GeocodedSchool(Base):
    """A surveyed or geocoded location of a school, from a source that has coordinates."""

    __tablename__ = "geocoded"
    __table_args__ = (
        CheckConstraint("codicescuola ~ '^[A-Z0-9]{10}$'", name="codicescuola"),
        CheckConstraint(FINITE_POINT, name="geom_finite"),
        {"schema": "school"},
    )

    codicescuola: Mapped[str] = mapped_column(Text, primary_key=True)
    indirizzo: Mapped[str | None] = mapped_column(Text)
    pro_com_t: Mapped[str | None] = mapped_column(Text, comment="municipality containing the point")
    geom: Mapped[Any] = _point_column()
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Edificio(Base):
    """A school building of the MIM building registry (edilizia scolastica); no coordinates in the source."""

    __tablename__ = "edificio"
    __table_args__ = (CheckConstraint(f"pro_com_t ~ '{PRO_COM_T_PATTERN}'", name="pro_com_t"), {"schema": "school"})

    codiceedificio: Mapped[str] = mapped_column(Text, primary_key=True)
    anno_scolastico: Mapped[str] = mapped_column(Text, nullable=False)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False)
    indirizzo: Mapped[str | None] = mapped_column(Text)
    strada_norm: Mapped[str | None] = mapped_column(Text)
    civico_norm: Mapped[str | None] = mapped_column(Text)
    cap: Mapped[str | None] = mapped_column(Text)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class ScuolaEdificio(Base):
    """Which school uses which building (many-to-many)."""

    __tablename__ = "scuola_edificio"
    __table_args__ = ({"schema": "school"},)

    codicescuola: Mapped[str] = mapped_column(Text, primary_key=True)
    codiceedificio: Mapped[str] = mapped_column(Text, primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class RoadNode(Base):
    """A node of the road graph (an intersection or a dead end)."""

    __tablename__ = "node"
    __table_args__ = ({"schema": "net"},)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    geom: Mapped[Any] = _point_column()
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class RoadEdge(Base):
    """An undirected road segment between two nodes, with its OSM highway class and length in metres."""

    __tablename__ = "edge"
    __table_args__ = (
        CheckConstraint("length_m > 0", name="length_m"),
        CheckConstraint("source <> target", name="no_loop"),
        {"schema": "net"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[int] = mapped_column(BigInteger, nullable=False)
    target: Mapped[int] = mapped_column(BigInteger, nullable=False)
    osm_id: Mapped[int | None] = mapped_column(BigInteger)
    highway: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float] = mapped_column(Float, nullable=False)
    synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False)
    geom: Mapped[Any] = mapped_column(Geometry("LINESTRING", srid=WORKING_SRID, spatial_index=False), nullable=False)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class Raster(Base):
    """A raster layer (population or coverage grid), as read: its CRS, resolution and nodata value."""

    __tablename__ = "raster"
    __table_args__ = (CheckConstraint("kind IN ('population', 'coverage')", name="kind"), {"schema": "cov"})

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    crs_wkt: Mapped[str] = mapped_column(Text, nullable=False)
    epsg: Mapped[int | None] = mapped_column(Integer)
    res_x: Mapped[float] = mapped_column(Float, nullable=False)
    res_y: Mapped[float] = mapped_column(Float, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    nodata: Mapped[float | None] = mapped_column(Float)
    total: Mapped[float | None] = mapped_column(Float)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class RasterZonal(Base):
    """Zonal statistics of a raster over one municipality, weighting each cell by the fraction covered."""

    __tablename__ = "raster_zonal"
    __table_args__ = ({"schema": "cov"},)

    raster: Mapped[str] = mapped_column(Text, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    sum: Mapped[float] = mapped_column(Float, nullable=False)
    mean: Mapped[float | None] = mapped_column(Float)
    cells: Mapped[float] = mapped_column(Float, nullable=False)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


SCHEMAS = ("meta", "ref", "cov", "school", "net")
