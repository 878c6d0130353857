"""Tables and views of the store (SQLAlchemy 2 + GeoAlchemy2), in one place.

Schemas: ``meta`` (provenance of ingest runs, API keys, jobs), ``ref`` (territorial reference layers), ``cov``
(broadband coverage sources), ``school`` (school registries and their locations), ``net`` (the road graph), ``out``
(analysis runs and their results). The migrations create them; tests/test_models.py compares the two.
The views the migrations create (what the feature server publishes) are Table objects in ``VIEWS``, a metadata of
their own that no migration tool would create as tables; their column types are those of the columns they show.
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
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from geo.srid import WORKING_SRID as WORKING_SRID  # re-exported: the models' geometries are in it

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
    """The declarative base of the models, with the naming convention of constraints and indexes."""

    metadata = MetaData(naming_convention=naming)
    # every model here maps one table (SQLAlchemy types it as any FromClause)
    __table__: ClassVar[Table]  # type: ignore[misc]


# the process tag of the connection that creates a row (migration 0014; geo.db.orphans reads it)
OWNER_DEFAULT = "nullif(current_setting('application_name', true), '')"


def _owner_column() -> Any:
    return mapped_column(
        Text,
        server_default=text(OWNER_DEFAULT),
        comment="application_name of the connection that created the row: the process tag of its owner",
    )


def _spatial_index(schema: str, table: str) -> Index:
    """The GiST index of a table's ``geom`` (the geometry types are declared without one: named as migrated)."""
    return Index(f"ix_{schema}_{table}_geom", "geom", postgresql_using="gist")


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
    owner: Mapped[str | None] = _owner_column()


class Province(Base):
    """A province (unità territoriale sovracomunale), dissolved from its municipalities."""

    __tablename__ = "province"
    __table_args__ = (
        CheckConstraint(f"cod_uts ~ '{COD_UTS_PATTERN}'", name="cod_uts"),
        CheckConstraint(FINITE_POLYGON, name="geom_finite"),
        _spatial_index("ref", "province"),
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
        _spatial_index("ref", "comune"),
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
        Index("ix_cov_infratel_civico_address", "pro_com_t", "strada_norm", "civico_norm"),
        # school matching reads the rows whose street lost characters with a pattern (migration 0009)
        Index("ix_cov_infratel_civico_lost", "pro_com_t", "civico_norm", postgresql_where=text("lost_characters")),
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
        _spatial_index("ref", "settlement"),
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
        _spatial_index("ref", "popgrid_cell"),
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
    __table_args__ = (_spatial_index("ref", "popgrid_part"), {"schema": "ref"})

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
        _spatial_index("school", "geocoded"),
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
    __table_args__ = (_spatial_index("net", "node"), {"schema": "net"})

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
        _spatial_index("net", "edge"),
        {"schema": "net"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    target: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
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
    total: Mapped[float | None] = mapped_column(Float, comment="sum of the valid cells of the whole raster")
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class RasterZonal(Base):
    """Zonal statistics of a raster over one municipality, weighting each cell by the fraction covered."""

    __tablename__ = "raster_zonal"
    __table_args__ = ({"schema": "cov"},)

    raster: Mapped[str] = mapped_column(Text, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    sum: Mapped[float] = mapped_column(Float, nullable=False, comment="coverage-weighted sum of the cell values")
    mean: Mapped[float | None] = mapped_column(Float, comment="coverage-weighted mean of the valid cells")
    cells: Mapped[float] = mapped_column(
        Float, nullable=False, comment="valid cells covered, counted by the fraction covered"
    )
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("meta.ingest_run.id"), nullable=False)


class ApiKey(Base):
    """An API key: stored as the SHA-256 of its secret, found by its prefix, with the role it grants."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="role"), {"schema": "meta"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    prefix: Mapped[str] = mapped_column(Text, nullable=False, unique=True, comment="first characters, to find the key")
    secret_sha256: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Job(Base):
    """A background job (OGC API Processes): what it was asked, how it went, what it gave."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed')", name="status"),
        {"schema": "meta"},
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="accepted")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("meta.api_key.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = _owner_column()


# --- analysis runs and their results (schema out); every result row belongs to one run and goes with it


class AnalysisRun(Base):
    """One analysis run: its kind, parameters, the reference tables and ingest runs it read, and how it ended."""

    __tablename__ = "analysis_run"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        {"schema": "out"},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="running")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reference_versions: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    ingest_runs: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, comment="ingest runs whose rows the analysis read"
    )
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONB, comment="figures of the run as a whole")
    owner: Mapped[str | None] = _owner_column()


def _run_column() -> Any:
    return mapped_column(ForeignKey("out.analysis_run.id", ondelete="CASCADE"), primary_key=True)


class _Outlook:
    """The 2030 outlook at the pace observed between reference dates (coverage per municipality and per area)."""

    outlook_from: Mapped[dt.date | None] = mapped_column(Date, comment="first reference date of the observed pace")
    pace_households_per_year: Mapped[float | None] = mapped_column(
        Float, comment="households newly reached by FTTH per year"
    )
    ftth_share_2030: Mapped[float | None] = mapped_column(
        Float, comment="FTTH share at the outlook horizon if the pace holds"
    )
    full_ftth_year: Mapped[int | None] = mapped_column(Integer, comment="year all households are reached at that pace")
    reaches_2030_target: Mapped[bool | None] = mapped_column(Boolean)
    outlook_note: Mapped[str | None] = mapped_column(Text)


class CoverageComune(_Outlook, Base):
    """Coverage of one municipality at one AGCOM reference date: households and population with and without FTTH,
    listed civic numbers (NULL: unknown, not zero), gap and EU area classes, anomalies and the outlook."""

    __tablename__ = "coverage_comune"
    __table_args__ = (CheckConstraint("ftth_share BETWEEN 0 AND 1", name="ftth_share"), {"schema": "out"})

    run_id: Mapped[int] = _run_column()
    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    cod_uts: Mapped[str] = mapped_column(Text, nullable=False)
    population: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    households_ftth: Mapped[int | None] = mapped_column(Integer)
    households_without_ftth: Mapped[int | None] = mapped_column(Integer)
    ftth_share: Mapped[float | None] = mapped_column(Float)
    fttc_present: Mapped[bool | None] = mapped_column(Boolean)
    cells20m_reached: Mapped[int | None] = mapped_column(Integer)
    cells20m_ftth: Mapped[int | None] = mapped_column(Integer)
    cells20m_fttc: Mapped[int | None] = mapped_column(Integer)
    population_with_ftth: Mapped[int | None] = mapped_column(
        Integer, comment="population × FTTH household share, rounded"
    )
    population_without_ftth: Mapped[int | None] = mapped_column(Integer)
    civici_a: Mapped[int | None] = mapped_column(Integer)
    civici_b: Mapped[int | None] = mapped_column(Integer)
    civici_c: Mapped[int | None] = mapped_column(Integer)
    civici_unserved: Mapped[int | None] = mapped_column(Integer)
    civici_per_1000: Mapped[float | None] = mapped_column(Float)
    gap_class: Mapped[str] = mapped_column(Text, nullable=False)
    eu_area_class: Mapped[str] = mapped_column(
        Text, nullable=False, comment="white/grey/black; undetermined without operator data"
    )
    grid_population: Mapped[float | None] = mapped_column(Float, comment="population from a loaded population grid")
    anomalies: Mapped[str | None] = mapped_column(Text, comment="input checks that failed, ';'-separated codes")
    eu_area_reason: Mapped[str | None] = mapped_column(Text, comment="why the EU area class is what it is")
    census_population: Mapped[float | None] = mapped_column(
        Float, comment="Census 2021 grid population, cells split by area"
    )
    census_population_without_ftth: Mapped[float | None] = mapped_column(Float)


class CoverageArea(_Outlook, Base):
    """The municipal figures added up per province or for the whole area, per reference date."""

    __tablename__ = "coverage_area"
    __table_args__ = (CheckConstraint("level IN ('province', 'area')", name="level"), {"schema": "out"})

    run_id: Mapped[int] = _run_column()
    level: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    ref_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    municipalities: Mapped[int] = mapped_column(Integer, nullable=False)
    population: Mapped[int | None] = mapped_column(BigInteger)
    households: Mapped[int | None] = mapped_column(BigInteger)
    households_ftth: Mapped[int | None] = mapped_column(BigInteger)
    households_without_ftth: Mapped[int | None] = mapped_column(BigInteger)
    ftth_share: Mapped[float | None] = mapped_column(Float)
    population_with_ftth: Mapped[int | None] = mapped_column(BigInteger)
    population_without_ftth: Mapped[int | None] = mapped_column(BigInteger)
    civici_unserved: Mapped[int | None] = mapped_column(BigInteger)
    market_failure_candidates: Mapped[int] = mapped_column(Integer, nullable=False)
    civici_a: Mapped[int | None] = mapped_column(BigInteger)
    civici_b: Mapped[int | None] = mapped_column(BigInteger)
    civici_c: Mapped[int | None] = mapped_column(BigInteger)
    municipalities_by_class: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class CoverageChange(Base):
    """Households reached by FTTH at two reference dates, per municipality, province or the whole area."""

    __tablename__ = "coverage_change"
    __table_args__ = (
        CheckConstraint("level IN ('municipality', 'province', 'area')", name="level"),
        {"schema": "out"},
    )

    run_id: Mapped[int] = _run_column()
    level: Mapped[str] = mapped_column(Text, primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    from_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    to_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    households_ftth_from: Mapped[int | None] = mapped_column(BigInteger)
    households_ftth_to: Mapped[int | None] = mapped_column(BigInteger)
    households_newly_reached: Mapped[int | None] = mapped_column(
        BigInteger, comment="net change in households reached by FTTH"
    )


class SchoolConnectivity(Base):
    """A school against the Infratel list: how its address was matched and whether it is a gap."""

    __tablename__ = "school_connectivity"
    __table_args__ = (
        CheckConstraint(
            "match_status IN ('matched', 'no_address', 'no_civic_number', 'street_not_listed', 'number_not_listed')",
            name="match_status",
        ),
        CheckConstraint("status IN ('gap', 'not_listed', 'unknown')", name="status"),
        {"schema": "out"},
    )

    run_id: Mapped[int] = _run_column()
    codicescuola: Mapped[str] = mapped_column(Text, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False)
    cod_uts: Mapped[str] = mapped_column(Text, nullable=False)
    gestione: Mapped[str] = mapped_column(Text, nullable=False)
    livello: Mapped[str] = mapped_column(Text, nullable=False)
    ref_date: Mapped[dt.date | None] = mapped_column(Date, comment="AGCOM reference date of the municipal share")
    municipality_ftth_share: Mapped[float | None] = mapped_column(Float)
    match_status: Mapped[str] = mapped_column(Text, nullable=False)
    infratel_id: Mapped[int | None] = mapped_column(BigInteger)
    infratel_class: Mapped[str | None] = mapped_column(Text)
    gap: Mapped[bool] = mapped_column(
        Boolean, nullable=False, comment="address on the list without >300 Mbit/s by 2028"
    )
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="unknown")
    match_method: Mapped[str] = mapped_column(Text, nullable=False, server_default="none")
    match_confidence: Mapped[str] = mapped_column(Text, nullable=False, server_default="none")


class GridCoverage(Base):
    """Population covered by a coverage raster in one municipality, cells weighted by the fraction inside."""

    __tablename__ = "grid_coverage"
    __table_args__ = (CheckConstraint("covered_share BETWEEN 0 AND 1", name="covered_share"), {"schema": "out"})

    run_id: Mapped[int] = _run_column()
    pro_com_t: Mapped[str] = mapped_column(Text, primary_key=True)
    coverage_raster: Mapped[str] = mapped_column(Text, nullable=False)
    population_raster: Mapped[str] = mapped_column(Text, nullable=False)
    population: Mapped[float] = mapped_column(
        Float, nullable=False, comment="grid population, cells weighted by fraction inside"
    )
    population_covered: Mapped[float] = mapped_column(Float, nullable=False)
    population_uncovered: Mapped[float] = mapped_column(Float, nullable=False)
    covered_share: Mapped[float | None] = mapped_column(Float)


class PriorityItem(Base):
    """A ranked target of a priorities run: persons served, costs and their range, selection, input status, reason,
    its location and its route. The columns are declared in the order they are published (the ``priorities``
    collection, the officers' files: TARGET_PROPERTIES below)."""

    __tablename__ = "priority_item"
    __table_args__ = (
        CheckConstraint("kind IN ('school', 'civic_cluster')", name="kind"),
        CheckConstraint("capex_eur >= 0 AND npv_eur >= 0", name="costs"),
        CheckConstraint("capex_low_eur <= capex_eur AND capex_eur <= capex_high_eur", name="cost_range"),
        _spatial_index("out", "priority_item"),
        {"schema": "out"},
    )

    run_id: Mapped[int] = _run_column()
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    target_id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False)
    cod_uts: Mapped[str] = mapped_column(Text, nullable=False)
    location: Mapped[str] = mapped_column(Text, nullable=False, comment="modelled, geocoded, settlement or approximate")
    population: Mapped[float] = mapped_column(Float, nullable=False)
    households: Mapped[float] = mapped_column(Float, nullable=False)
    civici: Mapped[int] = mapped_column(Integer, nullable=False)
    schools: Mapped[int] = mapped_column(Integer, nullable=False)
    cells: Mapped[int] = mapped_column(
        Integer, nullable=False, comment="1 km census cells the civic numbers are placed in"
    )
    geotype: Mapped[str] = mapped_column(
        Text, nullable=False, comment="density class of the cells holding most civic numbers"
    )
    school_weight: Mapped[float] = mapped_column(
        Float, nullable=False, comment="persons a school counts for in the benefit"
    )
    benefit: Mapped[float] = mapped_column(Float, nullable=False)
    route_length_m: Mapped[float | None] = mapped_column(Float)
    backhaul_eur: Mapped[float | None] = mapped_column(Float)
    distribution_eur: Mapped[float] = mapped_column(Float, nullable=False)
    drops_eur: Mapped[float] = mapped_column(Float, nullable=False)
    capex_low_eur: Mapped[float | None] = mapped_column(Float)
    capex_eur: Mapped[float | None] = mapped_column(Float)
    capex_high_eur: Mapped[float | None] = mapped_column(Float)
    npv_eur: Mapped[float | None] = mapped_column(Float)
    marginal_capex_eur: Mapped[float | None] = mapped_column(Float)
    bc_ratio: Mapped[float | None] = mapped_column(Float)
    eur_per_civico: Mapped[float | None] = mapped_column(Float)
    eur_per_household: Mapped[float | None] = mapped_column(Float)
    eur_per_person: Mapped[float | None] = mapped_column(Float)
    above_cost_cap: Mapped[bool | None] = mapped_column(
        Boolean,
        comment="capex per location, connections excluded, over the cost cap: to weigh against FWA or satellite "
        "(NULL: no route, or a run before the flag)",
    )
    selected: Mapped[bool] = mapped_column(Boolean, nullable=False)
    cumulative_eur: Mapped[float | None] = mapped_column(Float)
    rank_low: Mapped[int | None] = mapped_column(Integer, comment="rank by persons served per € of the low costs")
    rank_central: Mapped[int | None] = mapped_column(
        Integer, comment="rank by persons served per € of the central costs"
    )
    rank_high: Mapped[int | None] = mapped_column(Integer, comment="rank by persons served per € of the high costs")
    road_classes: Mapped[str | None] = mapped_column(Text, comment="km of route per road class")
    scenario: Mapped[str] = mapped_column(Text, nullable=False)
    roads_status: Mapped[str] = mapped_column(Text, nullable=False, comment="synthetic or surveyed")
    sources_status: Mapped[str] = mapped_column(Text, nullable=False, comment="proxy or real")
    coverage_run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    coverage_ref_date: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    geom: Mapped[Any] = _point_column()
    route: Mapped[Any] = mapped_column(
        Geometry("MULTILINESTRING", srid=WORKING_SRID, spatial_index=False), nullable=True
    )


class PriorityPlacement(Base):
    """Where a priorities target's civic numbers are placed: one census cell of its municipality (cut by the
    boundary), with the civic numbers given to it by street or in proportion to its population."""

    __tablename__ = "priority_placement"
    __table_args__ = (CheckConstraint("civici >= 0", name="civici"), {"schema": "out"})

    run_id: Mapped[int] = _run_column()
    target_id: Mapped[str] = mapped_column(Text, primary_key=True)
    grd_id: Mapped[str] = mapped_column(Text, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text, nullable=False)
    civici: Mapped[int] = mapped_column(Integer, nullable=False)
    civici_by_street: Mapped[int] = mapped_column(Integer, nullable=False, comment="of which placed by a named street")
    population: Mapped[float] = mapped_column(
        Float, nullable=False, comment="census population of the cell inside the comune"
    )
    density_per_km2: Mapped[float] = mapped_column(Float, nullable=False)
    geotype: Mapped[str] = mapped_column(Text, nullable=False)
    distribution_eur: Mapped[float] = mapped_column(Float, nullable=False)
    geom: Mapped[Any] = _polygon_column()


# the columns stored per target besides the run and the geometries, in the order the model declares and publishes them
ITEM_COLUMNS = tuple(c.name for c in PriorityItem.__table__.columns if c.name not in ("run_id", "geom", "route"))
# what is published of a run, the same in the OGC collections and the officers' files (geo.analysis.exports)
TARGET_PROPERTIES = (*ITEM_COLUMNS, "run_id")
ROUTE_PROPERTIES = (
    "rank", "target_id", "kind", "name", "route_length_m", "capex_eur", "marginal_capex_eur", "selected",
    "road_classes", "roads_status", "scenario", "run_id",
)  # fmt: skip
PLACEMENT_PROPERTIES = (
    "target_id", "grd_id", "pro_com_t", "comune", "civici", "civici_by_street", "population", "density_per_km2",
    "geotype", "distribution_eur", "location", "run_id",
)  # fmt: skip

SCHEMAS = ("meta", "ref", "cov", "school", "net", "out")

# --- views (created by the migrations; the feature server publishes most of them)

VIEWS = MetaData(naming_convention=naming)
Shown = list[tuple[str, TypeEngine[Any]]]


def _of(model: type[Base], *names: str) -> Shown:
    """Columns a view shows as they are in ``model``: their names and types."""
    return [(name, model.__table__.c[name].type) for name in names]


def _text(*names: str) -> Shown:
    """Columns a view computes as text (identifiers, labels)."""
    return [(name, Text()) for name in names]


def _geometry(kind: str) -> Shown:
    return [("geom", Geometry(kind, srid=WORKING_SRID, spatial_index=False))]


def _view(name: str, schema: str, *parts: Shown) -> Table:
    return Table(name, VIEWS, *(Column(n, t) for part in parts for n, t in part), schema=schema)


_OUTLOOK = ("pace_households_per_year", "ftth_share_2030", "full_ftth_year", "reaches_2030_target", "outlook_note")
_COVERAGE_SHOWN = (
    "cod_uts", "ref_date", "population", "households", "households_ftth", "ftth_share", "fttc_present",
    "population_with_ftth", "population_without_ftth", "civici_a", "civici_b", "civici_c", "civici_unserved",
    "civici_per_1000", "gap_class", "eu_area_class", "eu_area_reason", "anomalies", "households_without_ftth",
    *_OUTLOOK, "census_population", "census_population_without_ftth",
)  # fmt: skip
_AREA_SHOWN = (
    "level", "ref_date", "municipalities", "population", "households", "households_ftth", "households_without_ftth",
    "ftth_share", "population_with_ftth", "population_without_ftth", "civici_a", "civici_b", "civici_c",
    "civici_unserved",
)  # fmt: skip
_SCHOOL_SHOWN = (
    "cod_uts", "gestione", "livello", "status", "match_status", "match_method", "match_confidence", "infratel_class",
    "municipality_ftth_share", "ref_date",
)  # fmt: skip
_PLACEMENT_SHOWN = ("civici", "civici_by_street", "population", "density_per_km2", "geotype", "distribution_eur")
_OOKLA_SHOWN = ("level", "code", "name", "quarter", "avg_down_mbps", "avg_up_mbps", "avg_latency_ms")

comune_population = _view(
    "comune_population", "ref", _of(Population, "pro_com_t", "ref_date", "total", "males", "females")
)
main_settlement = _view("main_settlement", "ref", _of(Settlement, "pro_com_t", "id", "name", "place", "geom"))
scuola_located = _view(
    "scuola_located",
    "school",
    _of(Scuola, *Scuola.__table__.c.keys()),
    _geometry("POINT"),
    _text("geocode_method", "geocode_quality"),
)
edificio_located = _view(
    "edificio_located",
    "school",
    _of(Edificio, *Edificio.__table__.c.keys()),
    _geometry("POINT"),
    _text("geocode_method", "geocode_quality"),
)
infratel_by_comune = _view(
    "infratel_by_comune",
    "cov",
    _of(Comune, "pro_com_t", "comune"),
    [(name, Integer()) for name in ("civici_a", "civici_b", "civici_c", "civici_unserved")],  # counts (NULL: unknown)
    _of(InfratelCivico, "ref_date"),
    _of(Comune, "geom"),
)
ookla_features = _view(
    "ookla_features", "cov", _text("feature_id"), _of(OoklaSpeed, *_OOKLA_SHOWN), _geometry("MULTIPOLYGON")
)
coverage_features = _view(
    "coverage_features",
    "out",
    _text("feature_id"),
    _of(CoverageComune, "run_id", "pro_com_t"),
    _of(Comune, "comune"),
    _of(CoverageComune, *_COVERAGE_SHOWN),
    _of(Comune, "geom"),
)
coverage_area_features = _view(
    "coverage_area_features",
    "out",
    _text("feature_id"),
    _of(CoverageArea, "run_id"),
    _text("territory"),  # the province's code, or "area"
    [("name", Province.__table__.c.den_uts.type)],  # the province's name, or "Area vasta"
    _of(CoverageArea, *_AREA_SHOWN),
    _text("municipalities_by_class"),  # the JSON object as text
    _of(CoverageChange, "households_newly_reached"),
    [("change_from", Date())],
    _of(CoverageArea, *_OUTLOOK),
    _geometry("GEOMETRY"),  # a province, or the union of them (no type modifier)
)
school_connectivity_features = _view(
    "school_connectivity_features",
    "out",
    _of(SchoolConnectivity, "run_id", "codicescuola"),
    _of(Scuola, "denominazione", "indirizzo"),
    _of(SchoolConnectivity, "pro_com_t"),
    _of(Comune, "comune"),
    _of(SchoolConnectivity, *_SCHOOL_SHOWN),
    _text("geocode_method", "geocode_quality"),
    _geometry("POINT"),
)
priority_placement_features = _view(
    "priority_placement_features",
    "out",
    _text("feature_id"),
    _of(PriorityPlacement, "run_id", "target_id", "grd_id", "pro_com_t"),
    _of(Comune, "comune"),
    _of(PriorityPlacement, *_PLACEMENT_SHOWN),
    _text("location"),  # street, street_and_modelled or modelled
    _geometry("MULTIPOLYGON"),
)
school_gap_summary = _view(
    "school_gap_summary",
    "out",
    _of(SchoolConnectivity, "run_id"),
    _text("level", "code"),
    _of(SchoolConnectivity, "livello"),
    [("schools", BigInteger()), ("schools_with_gap", BigInteger())],
)
