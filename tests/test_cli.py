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
