"""AREAVASTA_UNKNOWN_MUNICIPALITIES, applied once by the pipeline to every layer keyed by municipality: a row naming a
municipality the store does not hold fails the load by default (file, row and reason), and under "reject" is left
out, counted and listed row by row in the run's provenance. Settlements and school buildings obey it as the others
do."""

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text
from typer.testing import CliRunner

from geo.cli import app
from geo.ingest import agcom, points, schools
from geo.ingest.catalog import ingest_all
from geo.ingest.pipeline import IngestError, municipality_policy

BUILDING_HEADER = (
    "ANNOSCOLASTICO,CODICESCUOLA,CODICEEDIFICIO,CODICECOMUNE,DESCRIZIONECOMUNE,SIGLAPROVINCIA,"
    "TIPOLOGIAINDIRIZZO,DENOMINAZIONEINDIRIZZO,NUMEROCIVICO,CAP\n"
)
BUILDINGS = (
    "202324,BGIS00000A,0160240001,016024,BERGAMO,BG,VIA,ROMA,1,24100\n"
    "202324,BGIS00000B,0169990001,016999,MERGED,BG,VIA,MILANO,2,24100\n"  # a municipality of another vintage
    "202324,BGIS00000C,0160010001,A057,ADRARA,BG,VIA,VERDI,3,24100\n"  # by cadastral code
)
AGCOM_HEADER = (
    'Regione,Provincia,Comune,pro_com,"Celle 20m x 20m raggiunte",Celle 20m x 20m raggiunte FTTH,'
    "Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\n"
)
HINT = "AREAVASTA_UNKNOWN_MUNICIPALITIES=reject"


def _settlements(folder):
    places = gpd.GeoDataFrame(
        {"pro_com_t": ["016024", "016999", "016001"], "name": ["Bergamo", "Merged", "Adrara"], "place": ["city"] * 3},
        geometry=[Point(9.67, 45.69), Point(9.7, 45.7), Point(9.95, 45.7)],
        crs=4326,
    )
    path = folder / "places.geojson"
    places.to_file(path)
    return path


def _buildings(folder):
    path = folder / "EDIANAGRAFESTA202120232420240801.csv"
    path.write_text(BUILDING_HEADER + BUILDINGS)
    return path


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _recorded(store, run_id):
    with store.engine.connect() as conn:
        query = "SELECT status, rows_read, rows_loaded, rows_rejected, details FROM meta.ingest_run WHERE id = :i"
        return conn.execute(text(query), {"i": run_id}).one()


def test_settlements_fail_on_an_unknown_municipality_or_reject_it(bergamo, tmp_path):
    path = _settlements(tmp_path)
    with pytest.raises(IngestError) as failed:
        points.ingest_settlements(bergamo.engine, path, ("016",), 32632)
    message = str(failed.value)
    assert message.startswith(f"{path}: 1 problem(s)")
    assert "row 2, column pro_com_t: unknown municipality code 016999 (not in the loaded boundaries)" in message
    assert HINT in message
    assert _count(bergamo, "ref.settlement") == 0
    with municipality_policy("reject"):
        result = points.ingest_settlements(bergamo.engine, path, ("016",), 32632)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.details["rejected_first"] == [
        "row 2, column pro_com_t: unknown municipality code 016999 (not in the loaded boundaries)"
    ]
    status, *counts, details = _recorded(bergamo, result.run_id)
    assert (status, *counts) == ("succeeded", 3, 2, 1) and details["rejected_rows"] == 1
    with bergamo.engine.connect() as conn:
        assert conn.execute(text("SELECT id, pro_com_t FROM ref.settlement ORDER BY id")).all() == [
            (1, "016024"),
            (3, "016001"),
        ]


def test_school_buildings_fail_on_an_unknown_municipality_or_reject_it(bergamo, tmp_path):
    path = _buildings(tmp_path)
    with pytest.raises(IngestError) as failed:
        schools.ingest_buildings(bergamo.engine, schools.read_buildings(path), ("016",))
    message = str(failed.value)
    assert message.startswith(f"{path}: 1 problem(s)")
    assert "row 2, column CODICECOMUNE: municipality code '016999' names no loaded municipality" in message
    assert HINT in message
    assert _count(bergamo, "school.edificio") == 0
    with municipality_policy("reject"):
        result = schools.ingest_buildings(bergamo.engine, schools.read_buildings(path), ("016",))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.details["rejected_first"] == [
        "row 2, column CODICECOMUNE: municipality code '016999' names no loaded municipality"
    ]
    assert (result.details["buildings"], result.details["school_building_links"]) == (2, 2)
    assert _recorded(bergamo, result.run_id)[:4] == ("succeeded", 3, 2, 1)
    with bergamo.engine.connect() as conn:
        assert conn.execute(text("SELECT pro_com_t FROM school.edificio ORDER BY 1")).scalars().all() == [
            "016001",
            "016024",
        ]
    assert _count(bergamo, "school.scuola_edificio") == 2


def test_other_problems_are_named_with_the_unknown_rows_under_fail_and_alone_under_reject(bergamo, tmp_path):
    path = tmp_path / "Reportistica_250630_Comuni.csv"
    path.write_text(AGCOM_HEADER + "L,B,X,16999,1,1,10,5\nL,B,B,16024,1,1,-10,5\n")
    with pytest.raises(IngestError) as failed:
        agcom.ingest(bergamo.engine, agcom.read(path), ("016",))
    assert "row 2, column famiglie_residenti: negative count -10" in str(failed.value)
    assert "row 1, column pro_com: unknown municipality code 016999 (not in the loaded boundaries); if" in str(
        failed.value
    )
    with pytest.raises(IngestError) as rejected, municipality_policy("reject"):
        agcom.ingest(bergamo.engine, agcom.read(path), ("016",))
    assert "negative count -10" in str(rejected.value) and "016999" not in str(rejected.value)
    with bergamo.engine.connect() as conn:
        failures = conn.execute(text("SELECT count(*) FROM meta.ingest_run WHERE status = 'failed'")).scalar()
    assert failures == 2 and _count(bergamo, "cov.agcom_comune") == 0


@pytest.mark.parametrize("policy", ["fail", "reject"])
def test_ingest_all_applies_the_setting_to_both_layers(store, tmp_path, policy):
    _settlements(tmp_path)
    _buildings(tmp_path)
    settings = store.settings.model_copy(update={"provinces": ("016",), "unknown_municipalities": policy})
    outcomes = {o.layer: o for o in ingest_all(store.engine, settings, tmp_path, show_progress=False)}
    for layer in ("settlements", "school_buildings"):
        if policy == "fail":
            assert outcomes[layer].failed and HINT in (outcomes[layer].error or ""), layer
        else:
            result = outcomes[layer].result
            assert result is not None and (result.rows_loaded, result.rows_rejected) == (2, 1), layer


def test_the_command_line_follows_the_setting(bergamo, tmp_path, monkeypatch):
    path = _settlements(tmp_path)
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", bergamo.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016")
    monkeypatch.setenv("COLUMNS", "200")
    failed = CliRunner().invoke(app, ["ingest", "settlements", str(path)])
    assert failed.exit_code == 1 and "unknown municipality code 016999" in failed.output
    monkeypatch.setenv("AREAVASTA_UNKNOWN_MUNICIPALITIES", "reject")
    loaded = CliRunner().invoke(app, ["ingest", "settlements", str(path)])
    assert loaded.exit_code == 0, loaded.output
    assert "settlements: 1 row(s) left out" in loaded.output and "row 2, column pro_com_t" in loaded.output
    monkeypatch.delenv("AREAVASTA_UNKNOWN_MUNICIPALITIES")
    with pytest.raises(IngestError):  # the command's policy ended with it
        points.ingest_settlements(bergamo.engine, path, ("016",), 32632)
