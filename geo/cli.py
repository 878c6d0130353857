"""The ``areavasta`` command: thin, it parses, calls and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from geo.db import migrate
from geo.db.cluster import Cluster, ClusterError, safe_url
from geo.db.engine import StoreError
from geo.db.store import open_store
from geo.models import IngestRun
from geo.settings import Settings

if TYPE_CHECKING:
    from geo.analysis.partitioned import Partitioned
    from geo.ingest.catalog import LayerOutcome
    from geo.ingest.pipeline import IngestResult

# Ingest modules load geopandas (seconds): they are imported by the commands that use them, so that
# `areavasta db …` answers at once.

app = typer.Typer(
    help="areavasta: broadband-coverage and infrastructure planning for the area vasta.", no_args_is_help=True
)
db_app = typer.Typer(
    help="The PostGIS store: the project's own cluster, or AREAVASTA_DATABASE_URL.", no_args_is_help=True
)
ingest_app = typer.Typer(help="Load layers into the store (one transaction per layer).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")

out = Console()
err = Console(stderr=True)
MAX_REJECTED_SHOWN = 5  # the run records up to 100; the terminal shows the first few


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        _fail(f"invalid configuration: {exc}")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the service's own errors into a message and a non-zero exit code."""
    from geo.ingest.pipeline import IngestError

    try:
        yield
    except (ClusterError, StoreError, IngestError, ValueError) as exc:
        _fail(str(exc))


def _store(settings: Settings, upgrade: bool = True) -> Engine:
    return open_store(settings, start=True, upgrade=upgrade)


# --- db -------------------------------------------------------------------------------------------


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the managed cluster; create the database with PostGIS."""
    settings = _settings()
    with _errors():
        cluster = Cluster.from_settings(settings)
        cluster.start()
        out.print(f"store {cluster.status().describe()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the managed cluster (no-op if stopped)."""
    with _errors():
        cluster = Cluster.from_settings(_settings())
        cluster.stop()
        out.print(f"store {cluster.status().describe()}")


@db_app.command("status")
def db_status() -> None:
    """Say whether the store is created, running and migrated. Exit code 0 only when it is ready."""
    settings = _settings()
    with _errors():
        if settings.database_url:
            engine = open_store(settings, start=False)
            out.print(f"external store {safe_url(settings.database_url)}")
        else:
            status = Cluster.from_settings(settings).status()
            out.print(f"managed store {status.describe()}")
            if not status.running:
                raise typer.Exit(3)
            engine = open_store(settings, start=False)
        revision = migrate.current_revision(engine)
        current = revision == migrate.head_revision()
        out.print(f"schema revision {revision or 'none'} ({'current' if current else 'upgrade needed'})")
        if not current:
            raise typer.Exit(4)


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the store (with its password)."""
    settings = _settings()
    with _errors():
        out.print(settings.database_url or Cluster.from_settings(settings).url(), highlight=False, soft_wrap=True)


@db_app.command("reset")
def db_reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete the managed cluster with all its data and create it anew."""
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
    with _errors():
        engine = _store(_settings(), upgrade=True)
        out.print(f"schema at revision {migrate.current_revision(engine)}")


# --- ingest ---------------------------------------------------------------------------------------


def _report(results: list[LayerOutcome]) -> None:
    table = Table(title="ingest")
    table.add_column("layer", no_wrap=True)
    table.add_column("source", overflow="fold")
    for column in ("status", "read", "loaded", "rejected", "reference date"):
        table.add_column(column, no_wrap=True)
    for item in results:
        r = item.result
        if r is not None:
            table.add_row(
                item.layer,
                item.source or "",
                r.status,
                str(r.rows_read),
                str(r.rows_loaded),
                str(r.rows_rejected),
                str(r.reference_date or ""),
            )
        else:
            status = "[red]failed[/]" if item.failed else (item.note or "missing")
            table.add_row(item.layer, item.source or "", status, "", "", "", "")
    out.print(table)
    for item in results:
        if item.failed:
            err.print(f"[bold red]{item.layer} failed:[/] {item.error}", highlight=False)
        elif item.result is not None and item.result.rows_rejected:
            first = (item.result.details or {}).get("rejected_first", [])[:MAX_REJECTED_SHOWN]
            lines = "".join(f"\n  - {line}" for line in first)
            err.print(f"[yellow]{item.layer}: {item.result.rows_rejected} row(s) left out[/]{lines}", highlight=False)


def _single(layer: str, source: str, job: Callable[[], IngestResult]) -> None:
    from geo.ingest.catalog import LayerOutcome

    with _errors():
        result = job()
    _report([LayerOutcome(layer, source, result=result)])


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from exc


@ingest_app.command("boundaries")
def ingest_boundaries(
    source: Annotated[str, typer.Argument(help="'geopop', an ISTAT Limiti0101YYYY.zip, or a vector file")] = "geopop",
    vintage: Annotated[str | None, typer.Option(help="Reference date YYYY-MM-DD when the name has none")] = None,
) -> None:
    """Load municipalities and provinces (configured provinces only)."""
    from geo.ingest import boundaries

    settings = _settings()
    when = _parse_date(vintage)
    with _errors():
        engine = _store(settings)
    _single(
        boundaries.LAYER,
        source,
        lambda: boundaries.ingest(
            engine,
            boundaries.open_boundaries(source, settings.geopop_year, when),
            settings.provinces,
            settings.working_crs,
        ),
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
    with _errors():
        engine = _store(settings)
    _single(
        population.LAYER,
        source,
        lambda: population.ingest(
            engine,
            population.open_population(source, settings.geopop_year, when),
            settings.provinces,
            reject_unknown=settings.unknown_municipalities == "reject",
        ),
    )


def _ingest_everything(settings: Settings, sources: Path | None, synthesise_roads: bool = False) -> bool:
    from geo.ingest.catalog import ingest_all

    with _errors():
        engine = _store(settings)
    results = ingest_all(engine, settings, sources or settings.sources_dir, synthesise_roads=synthesise_roads)
    _report(results)
    return not any(r.failed for r in results)


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
    from geo.ingest.pipeline import MAX_SHRINK

    MAX_SHRINK.set(None if accept_shrink else _settings().max_shrink)


@ingest_app.command("all")
def ingest_everything(
    sources: Annotated[Path | None, typer.Option(help="Folder of source files (default AREAVASTA_SOURCES_DIR)")] = None,
) -> None:
    """Load every layer found in the sources folder plus the offline boundaries and population."""
    settings = _settings()
    folder = sources or settings.sources_dir
    if not folder.is_dir():
        _fail(
            f"no sources folder {folder.resolve()}: put the official files there (see ../shared/data/README.md), "
            "point AREAVASTA_SOURCES_DIR (or --sources) at a folder holding them, or run 'areavasta fetch' where "
            "the network allows"
        )
    if not _ingest_everything(settings, folder):
        raise typer.Exit(1)


@ingest_app.command("roads")
def ingest_roads(
    source: Annotated[str, typer.Argument(help="An OSM extract (.osm, .osm.pbf), or 'overpass' (needs the internet)")],
) -> None:
    """Load a road network from OpenStreetMap (every highway=* way) for routing."""
    from geo.ingest import roads

    settings = _settings()
    with _errors():
        engine = _store(settings)

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

    _single(roads.LAYER, source, job)


@ingest_app.command("raster")
def ingest_raster(
    path: Annotated[Path, typer.Argument(help="A GeoTIFF in any declared CRS")],
    kind: Annotated[str, typer.Option(help="population or coverage")] = "population",
    name: Annotated[str | None, typer.Option(help="Layer name (default: the file name)")] = None,
) -> None:
    """Record a raster grid and summarise it per municipality (cells weighted by the fraction covered)."""
    from geo.ingest import rasters

    settings = _settings()
    with _errors():
        engine = _store(settings)
    _single(rasters.LAYER, str(path), lambda: rasters.ingest(engine, rasters.read(path, kind, name)))


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


@app.command("fetch")
def fetch_sources(
    sources: Annotated[
        Path | None, typer.Option(help="Folder to download into (default AREAVASTA_SOURCES_DIR)")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Also the large optional files (OSM extract)")] = False,
    force: Annotated[bool, typer.Option(help="Download again even when the manifest says the file is current")] = False,
) -> None:
    """Download the official sources (resumable), with SHA-256 and a manifest."""
    from geo.ingest.fetch import FetchError, fetch

    settings = _settings()
    folder = sources or settings.sources_dir
    try:
        fetched, notes = fetch(settings, folder, include_optional=everything, force=force)
    except FetchError as exc:
        _fail(str(exc))
    table = Table(title=f"fetch into {folder}")
    for column in ("source", "file", "status", "bytes", "sha256"):
        table.add_column(column, overflow="fold")
    for item in fetched:
        table.add_row(item.name, item.file, item.status, f"{item.size:,}", item.sha256[:16] + "…")
    out.print(table)
    for note in notes:
        err.print(f"[yellow]{note}[/]", highlight=False)


def _analyze(settings: Settings, scheduler: str | None = None) -> bool:
    from geo.analysis import coverage
    from geo.analysis.runs import AnalysisError

    with _errors():
        engine = _store(settings)
    try:
        if scheduler is None:
            run = coverage.analyze(engine)
        else:
            with _partitioned(engine, scheduler) as partitioned:
                run = coverage.analyze(engine, partitioned=partitioned)
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
    from geo.analysis import exports, priorities
    from geo.analysis.costs import scenarios
    from geo.analysis.runs import AnalysisError
    from geo.italian import euro
    from geo.reference import ReferenceTableError

    known = scenarios()
    if scenario not in known:
        _fail(f"unknown scenario {scenario!r}; known: {', '.join(known)}")
    chosen = known[scenario] if budget is None else known[scenario].model_copy(update={"budget_eur": budget})
    with _errors():
        engine = _store(_settings())
    try:
        run = priorities.analyze(engine, chosen)
        loaded = exports.load(engine, run.id)
        if export is not None:
            export.mkdir(parents=True, exist_ok=True)
            for fmt in exports.FORMATS:
                (export / f"{loaded.file_stem}.{fmt}").write_bytes(exports.export(engine, fmt, run.id)[1])
    except (AnalysisError, ReferenceTableError) as exc:
        _fail(str(exc))
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
        raise _fail(f"cannot reach the dask scheduler at {scheduler!r}: {exc}") from exc


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
        raise typer.Exit(1)


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
    """List recent ingest runs with their provenance."""
    with _errors():
        engine = _store(_settings())
    table = Table(title="ingest runs")
    for column in ("id", "layer", "status", "read", "loaded", "rejected", "reference", "started"):
        table.add_column(column, no_wrap=True)
    table.add_column("source", overflow="fold")
    with Session(engine) as session:
        recent = session.scalars(select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)).all()
    for run in recent:
        table.add_row(
            str(run.id),
            run.layer,
            run.status,
            str(run.rows_read or ""),
            str(run.rows_loaded or ""),
            str(run.rows_rejected or ""),
            str(run.reference_date or ""),
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            run.source,
        )
    out.print(table)


# --- serving and the main job ---------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default AREAVASTA_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default AREAVASTA_PORT)")] = None,
) -> None:
    """Run the HTTP service with uvicorn."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    with _errors():
        open_store(settings, start=True, upgrade=False)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


@app.command("run")
def run_all(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")] = True,
) -> None:
    """The main job: start the store, migrate, ingest everything, run the analyses, then serve."""
    settings = _settings()
    ok = _ingest_everything(settings, None, synthesise_roads=True)
    if not ok:
        err.print("[yellow]some layers failed; analysing and serving what is loaded[/]")
    ok = _analyze(settings) and ok
    if ok:
        try:
            priorities_command("default", None, None)
        except typer.Exit:
            ok = False
    if serve_after:
        serve(None, None)
    elif not ok:
        raise typer.Exit(1)
