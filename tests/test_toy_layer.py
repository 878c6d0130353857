"""Adding a layer is its module, its model, its migration: a toy layer declared here alone (a reader, a SQLAlchemy
model and its CREATE TABLE in this test's store) and registered through the registry is recognised in a sources
folder, loaded by ``ingest all`` and by ``ingest toy FILE``, listed in the outcomes and the missing layers, and
recorded in provenance, without a line of the service changed for it."""

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, Integer, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from typer.testing import CliRunner

from geo.analysis.runs import run_analysis
from geo.cli import app
from geo.ingest.catalog import ingest_all, layer_job, missing_layers, recognise, scan
from geo.ingest.fields import loaded_municipalities, municipality_codes
from geo.ingest.layers import LAYERS, Context, Header, Layer, registered
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Source, TableLoad, run_ingest
from geo.ingest.tabular import parse_numbers, read_table

# --- the toy layer's "module" -----------------------------------------------------------------------------------


class ToyBase(DeclarativeBase):
    """Its own metadata: the service's models stay as they are."""


class ToyCount(ToyBase):
    __tablename__ = "toy_count"
    __table_args__ = ({"schema": "ref"},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pro_com_t: Mapped[str] = mapped_column(Text)
    toys: Mapped[int] = mapped_column(Integer)
    ingest_run_id: Mapped[int] = mapped_column(Integer)


MIGRATION = """
CREATE TABLE ref.toy_count (
    id integer PRIMARY KEY,
    pro_com_t text NOT NULL,
    toys integer NOT NULL,
    ingest_run_id integer NOT NULL REFERENCES meta.ingest_run (id)
)
"""
COLUMNS = {"code": ("pro_com_t", "toy_code"), "toys": ("toys",)}


def load_toys(engine: Engine, path: Path, context: Context) -> IngestResult:
    """Toys counted per municipality: a CSV ``toy_code,toys``."""
    table = read_table(path, COLUMNS, ("code", "toys"))

    def prepare(conn: Connection) -> Prepared:
        known = loaded_municipalities(conn, table.label)
        rows, problems, unknown = municipality_codes(table.frame, "code", context.provinces, known, "toy_code")
        toys, found = parse_numbers(rows["toys"], rows["_row"], "toys", table.decimal, integer=True)
        if problems + found:
            raise IngestError(table.label, problems + found + unknown)
        frame = pd.DataFrame({"id": rows["_row"], "pro_com_t": rows["pro_com_t"], "toys": toys.astype("int64")})
        return Prepared([TableLoad(ToyCount.__table__, frame)], rows_read=len(table.frame), rejected=unknown)

    return run_ingest(engine, "toy", Source.from_path(path), prepare)


TOY = Layer(
    "toy",
    order=95,  # after the Ookla speeds, before the roads
    tables=("ref.toy_count",),
    needs="toy counts toy_<area>.csv (toy_code, toys)",
    load=load_toys,
    file_name=r"^toy_(?P<dataset>[a-z]+)\.csv$",
    header=Header("table", frozenset({"toycode", "toys"})),
    provenance=("ref.toy_count",),
)

# --- the tests --------------------------------------------------------------------------------------------------


@pytest.fixture
def toy(store):
    """The toy layer registered, its table migrated; the registry as it was afterwards."""
    with store.engine.begin() as conn:
        conn.execute(text(MIGRATION))
    with registered(TOY):
        yield store
    assert "toy" not in LAYERS


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "toy_bergamo.csv").write_text("toy_code,toys\n016024,7\n016001,3\n016999,1\n")
    return folder


def _runs(store, layer):
    with store.engine.connect() as conn:
        query = "SELECT id, source, status, rows_read, rows_loaded, rows_rejected FROM meta.ingest_run WHERE layer = :l"
        return conn.execute(text(query + " ORDER BY id"), {"l": layer}).all()


def test_a_toy_layer_is_recognised_loaded_listed_and_recorded(toy, sources, tmp_path):
    settings = toy.settings.model_copy(update={"provinces": ("016",), "unknown_municipalities": "reject"})
    path = sources / "toy_bergamo.csv"
    copy = tmp_path / "counts.csv"
    copy.write_text(path.read_text())
    assert recognise(path).key == "toy:bergamo" and recognise(copy).layer == "toy"  # by name; by header
    assert "toy" in missing_layers(tmp_path / "empty") and "toy" not in missing_layers(sources)
    assert [f.key for f in scan(sources)[0]] == ["toy:bergamo"]

    outcomes = ingest_all(toy.engine, settings, sources, show_progress=False)
    layers = [o.layer for o in outcomes]
    assert layers.index("toy:bergamo") == layers.index("population") + 1  # the only file, in load order
    loaded = next(o for o in outcomes if o.layer == "toy:bergamo")
    assert loaded.result is not None and loaded.source == str(path)
    assert (loaded.result.status, loaded.result.rows_loaded, loaded.result.rows_rejected) == ("succeeded", 2, 1)
    assert "toy" not in {o.layer for o in outcomes if o.missing} and "ookla" in {o.layer for o in outcomes if o.missing}
    run_id = loaded.result.run_id
    assert _runs(toy, "toy") == [(run_id, str(path), "succeeded", 3, 2, 1)]

    again = layer_job(toy.engine, settings, "toy", path)()  # the generic single-file path
    assert (again.status, again.rows_loaded) == ("unchanged", 2)

    analysis = run_analysis(toy.engine, "toy", {}, {}, lambda _conn, _run: None)
    with toy.engine.connect() as conn:
        read = conn.execute(text("SELECT ingest_runs FROM out.analysis_run WHERE id = :i"), {"i": analysis.id})
        assert read.scalar_one()["ref.toy_count"] == [run_id]
        assert conn.execute(text("SELECT sum(toys) FROM ref.toy_count")).scalar() == 10


def test_the_command_line_has_a_command_for_the_toy_layer(toy, sources, monkeypatch):
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", toy.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert "toy" in runner.invoke(app, ["ingest", "--help"]).output
    assert runner.invoke(app, ["ingest", "boundaries"]).exit_code == 0
    path = sources / "toy_bergamo.csv"
    refused = runner.invoke(app, ["ingest", "toy", str(path)])  # the default policy: an unknown code fails the load
    assert refused.exit_code == 1 and "row 3, column toy_code: unknown municipality code 016999" in refused.output
    monkeypatch.setenv("AREAVASTA_UNKNOWN_MUNICIPALITIES", "reject")
    result = runner.invoke(app, ["ingest", "toy", str(path)])
    assert result.exit_code == 0, result.output
    assert "toy" in result.output and "succeeded" in result.output and "1 row(s) left out" in result.output
    everything = runner.invoke(app, ["ingest", "all", "--sources", str(sources)])
    assert everything.exit_code == 0, everything.output
    assert "toy:bergamo" in everything.output and "unchanged" in everything.output
    assert [row[2] for row in _runs(toy, "toy")] == ["failed", "succeeded", "unchanged"]


def test_without_the_registration_the_file_is_nobodys(sources):
    assert "toy" not in LAYERS
    assert recognise(sources / "toy_bergamo.csv") is None
    assert "toy" not in CliRunner().invoke(app, ["ingest", "--help"]).output
