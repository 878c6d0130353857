"""Tables of the store (SQLAlchemy 2 + GeoAlchemy2), in one place.

Schemas: ``meta`` (provenance of ingest runs), ``ref`` (territorial reference layers).
Geometry columns are in the working CRS, EPSG:32632, with GiST indexes created by the migrations.
ISTAT codes are zero-padded text, never integers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

WORKING_SRID = 32632

PRO_COM_T_PATTERN = r"^\d{6}$"
COD_UTS_PATTERN = r"^\d{3}$"
CATASTALE_PATTERN = r"^[A-Z]\d{3}$"

naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming)


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
    __table_args__ = (CheckConstraint(f"cod_uts ~ '{COD_UTS_PATTERN}'", name="cod_uts"), {"schema": "ref"})

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


SCHEMAS = ("meta", "ref")
