"""Bad input for each layer gives a clear error naming row and reason, and the loaded data stays as it was."""

import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pytest
import sqlalchemy
from shapely.geometry import Point, Polygon, box
from sqlalchemy import text
from typer.testing import CliRunner

from geo.cli import app
from geo.ingest import agcom, infratel, ookla, points, schools
from geo.ingest.pipeline import IngestError, shrink_policy
from geo.ingest.vector import to_multipolygons

AGCOM_HEADER = (
    'Regione,Provincia,Comune,pro_com,"Celle 20m x 20m raggiunte",Celle 20m x 20m raggiunte FTTH,'
    "Famiglie Residenti (calcolato),Famiglie raggiunte FTTH (calcolato)\n"
)
INFRATEL_HEADER = "com_istat_code,comune_infratel,strada,civico,caratteristica\n"
SCHOOL_HEADER = (
    "ANNOSCOLASTICO,PROVINCIA,CODICESCUOLA,DENOMINAZIONESCUOLA,INDIRIZZOSCUOLA,CODICECOMUNESCUOLA,"
    "DESCRIZIONETIPOLOGIAGRADOISTRUZIONESCUOLA\n"
)


def _count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("name", "content", "encoding", "message"),
    [
        (
            "Reportistica_250630_Comuni.csv",
            "Regione,pro_com,Celle\nLombardia,16024,1\n",
            "utf-8",
            r"wrong header: no column for \['celle20m_ftth', 'famiglie_residenti', 'famiglie_raggiunte_ftth'\]",
        ),
        (
            "Reportistica_250630_Comuni.csv",
            AGCOM_HEADER + "Lombardia,Bergamo,Bergamo,16024,1,1,10,5\n",
            "utf-16",
            "NUL bytes",
        ),
        (
            "Reportistica_250630_Comuni.csv",
            AGCOM_HEADER + "Lombardia,Bergamo,X,16999,1,1,10,5\n",
            "utf-8",
            "row 1, column pro_com: unknown municipality code 016999",
        ),
        (
            "Reportistica_250630_Comuni.csv",
            AGCOM_HEADER + "L,B,B,16024,1,1,10,5\nL,B,A,16001,1,1,abc,5\n",
            "utf-8",
            "row 2, column famiglie_residenti: 'abc' is not a whole number",
        ),
        (
            "Reportistica_250630_Comuni.csv",
            AGCOM_HEADER + "L,B,B,16024,1,1,-10,5\n",
            "utf-8",
            "row 1, column famiglie_residenti: negative count -10",
        ),
        ("Reportistica_250630_Comuni.csv", "", "utf-8", "the file is empty"),
        ("agcom.csv", AGCOM_HEADER + "L,B,B,16024,1,1,10,5\n", "utf-8", "no reference date"),
    ],
)
def test_agcom_bad_input(bergamo, tmp_path, name, content, encoding, message):
    good = _write(tmp_path, "Reportistica_250630_Comuni.csv", AGCOM_HEADER + "L,B,Bergamo,16024,10,4,100,40\n")
    agcom.ingest(bergamo.engine, agcom.read(good), ("016",))
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    with pytest.raises(IngestError, match=message):
        agcom.ingest(bergamo.engine, agcom.read(_write(bad_dir, name, content, encoding)), ("016",))
    with bergamo.engine.connect() as conn:
        rows = conn.execute(text("SELECT pro_com_t, famiglie_raggiunte_ftth FROM cov.agcom_comune")).all()
    assert [tuple(r) for r in rows] == [("016024", 40)]


def test_agcom_blank_ftth_is_zero_only_where_no_ftth_cell_is_reached(bergamo, tmp_path):
    content = AGCOM_HEADER + "L,B,A,16024,10,0,100,\nL,B,B,16001,10,3,100,\n"
    agcom.ingest(bergamo.engine, agcom.read(_write(tmp_path, "Reportistica_250630_Comuni.csv", content)), ("016",))
    with bergamo.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT pro_com_t, famiglie_raggiunte_ftth FROM cov.agcom_comune")).all())
        details = conn.execute(text("SELECT details FROM meta.ingest_run ORDER BY id DESC LIMIT 1")).scalar()
    assert rows == {"016024": 0, "016001": None}
    assert details["blank_left_unknown"] == {"famiglie_raggiunte_ftth": 1}


def test_agcom_keeps_every_reference_date(bergamo, tmp_path):
    for day in ("250331", "250630"):
        folder = tmp_path / day
        folder.mkdir()
        path = _write(folder, f"Reportistica_{day}_Comuni.csv", AGCOM_HEADER + "L,B,B,16024,1,1,10,5\n")
        agcom.ingest(bergamo.engine, agcom.read(path), ("016",))
    assert _count(bergamo, "cov.agcom_comune") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("comune,strada,civico,caratteristica\nCASTRO,VIA ROMA,1,A\n", "joining by municipality name is refused"),
        (INFRATEL_HEADER + "016024,BERGAMO,VIA ROMA,1,Z\n", "row 1, column caratteristica: class 'Z' is not A, B or C"),
        (INFRATEL_HEADER + "016999,X,VIA ROMA,1,A\n", "row 1, column com_istat_code: unknown municipality code 016999"),
        (INFRATEL_HEADER + "016024,BERGAMO,VIA ROMA,?,A\n", "row 1, column civico: civic number '\\?' is unreadable"),
        (INFRATEL_HEADER + "016024,BERGAMO,,1,A\n", "row 1, column strada: street name is empty"),
    ],
)
def test_infratel_bad_input(bergamo, tmp_path, content, message):
    good = _write(tmp_path, "good.csv", INFRATEL_HEADER + "016024,BERGAMO,V. ROMA,7/D,C\n")
    infratel.ingest(bergamo.engine, infratel.read(good), ("016",))
    with pytest.raises(IngestError, match=message):
        infratel.ingest(bergamo.engine, infratel.read(_write(tmp_path, "bad.csv", content)), ("016",))
    with bergamo.engine.connect() as conn:
        row = conn.execute(text("SELECT strada_norm, civico_norm, numero, esponente FROM cov.infratel_civico")).one()
    assert tuple(row) == ("VIA ROMA", "7/D", 7, "D")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "SCUANAGRAFESTAT20252620250901.csv",
            SCHOOL_HEADER + "202526,BERGAMO,BGEE00000X,X,VIA ROMA 1,Z999,SCUOLA PRIMARIA\n",
            "row 1, column CODICECOMUNESCUOLA: cadastral code 'Z999' names no loaded municipality",
        ),
        (
            "SCUANAGRAFESTAT20252620250901.csv",
            SCHOOL_HEADER + "202526,BERGAMO,BGEE0,X,VIA ROMA 1,A794,SCUOLA PRIMARIA\n",
            "row 1, column CODICESCUOLA: school code 'BGEE0' is malformed",
        ),
        (
            "SCUANAGRAFESTAT20252620250901.csv",
            SCHOOL_HEADER + "2025,BERGAMO,BGEE00000X,X,VIA ROMA 1,A794,SCUOLA PRIMARIA\n",
            "row 1, column ANNOSCOLASTICO: school year '2025' is not YYYYYY",
        ),
        ("scuole.csv", SCHOOL_HEADER, "cannot tell state from paritarie schools"),
    ],
)
def test_school_registry_bad_input(bergamo, tmp_path, name, content, message):
    good = _write(
        tmp_path,
        "SCUANAGRAFESTAT20252620250901.csv",
        SCHOOL_HEADER + "202526,BERGAMO,BGEE00000X,SCUOLA,VIA ROMA 1,A794,SCUOLA PRIMARIA\n",
    )
    schools.ingest(bergamo.engine, schools.read(good), ("016",))
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    with pytest.raises(IngestError, match=message):
        schools.ingest(bergamo.engine, schools.read(_write(bad_dir, name, content)), ("016",))
    with bergamo.engine.connect() as conn:
        row = conn.execute(text("SELECT codicescuola, pro_com_t, livello, strada_norm, civico_norm FROM school.scuola"))
        assert tuple(row.one()) == ("BGEE00000X", "016024", "primaria", "VIA ROMA", "1")


BUILDING_HEADER = (
    "ANNOSCOLASTICO,CODICESCUOLA,CODICEEDIFICIO,CODICECOMUNE,DESCRIZIONECOMUNE,SIGLAPROVINCIA,"
    "TIPOLOGIAINDIRIZZO,DENOMINAZIONEINDIRIZZO,NUMEROCIVICO,CAP\n"
)


def test_school_buildings_are_many_to_many_with_schools(bergamo, tmp_path):
    settlements = gpd.GeoDataFrame(
        {"pro_com_t": ["016024"], "name": ["Bergamo"], "place": ["city"]},
        geometry=[Point(9.67, 45.69)],
        crs=4326,
    )
    path = tmp_path / "places.geojson"
    settlements.to_file(path)
    points.ingest_settlements(bergamo.engine, path, ("016",), 32632)
    rows = (
        "202324,BGIS00000A,0160240001,016024,BERGAMO,BG,VIA,ROMA,1,24100\n"  # ISTAT municipality code
        "202324,BGIS00000A,0160240002,A794,BERGAMO,BG,PIAZZA,VITTORIO VENETO,3/A,24100\n"  # cadastral code
        "202324,BGIS00000B,0160240001,016024,BERGAMO,BG,VIA,ROMA,1,24100\n"  # a building shared by two schools
        "202324,BSIS00000C,0170290001,017029,BRESCIA,BS,VIA,MILANO,2,25100\n"  # another province
    )
    registry = schools.read_buildings(_write(tmp_path, "EDIANAGRAFESTA202120232420240801.csv", BUILDING_HEADER + rows))
    result = schools.ingest_buildings(bergamo.engine, registry, ("016",))
    assert (result.rows_loaded, result.reference_date) == (2, dt.date(2023, 9, 1))
    with bergamo.engine.connect() as conn:
        links = conn.execute(text("SELECT codiceedificio, count(*) FROM school.scuola_edificio GROUP BY 1")).all()
        located = conn.execute(
            text("SELECT codiceedificio, civico_norm, geocode_method FROM school.edificio_located ORDER BY 1")
        ).all()
    assert dict(links) == {"0160240001": 2, "0160240002": 1}
    assert [tuple(r) for r in located] == [
        ("0160240001", "1", "main_settlement"),
        ("0160240002", "3/A", "main_settlement"),
    ]
    conflict = BUILDING_HEADER + rows + "202324,BGIS00000D,0160240001,016001,ADRARA,BG,VIA,ROMA,1,24100\n"
    with pytest.raises(IngestError, match="building 0160240001 has different addresses or municipalities"):
        schools.ingest_buildings(
            bergamo.engine, schools.read_buildings(_write(tmp_path, "EDIANAGRAFESTA2.csv", conflict)), ("016",)
        )
    assert _count(bergamo, "school.scuola_edificio") == 3


def test_point_layers_refuse_other_geometries(bergamo, tmp_path):
    frame = gpd.GeoDataFrame(
        {"pro_com_t": ["016024"], "name": ["X"], "place": ["village"]}, geometry=[box(0, 0, 1, 1)], crs=32632
    )
    path = tmp_path / "places.geojson"
    frame.to_file(path)
    with pytest.raises(IngestError, match="row 1: not a point geometry"):
        points.ingest_settlements(bergamo.engine, path, ("016",), 32632)


def test_ingest_all_reports_a_bad_layer_and_loads_the_rest(store, tmp_path, monkeypatch):
    _write(tmp_path, "Reportistica_250630_Comuni.csv", AGCOM_HEADER + "L,B,B,16024,1,1,10,5\n")
    _write(tmp_path, "civici.csv", INFRATEL_HEADER + "016024,BERGAMO,VIA ROMA,1,Z\n")
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016")
    result = CliRunner().invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert result.exit_code == 1
    assert "infratel failed" in result.output and "class 'Z' is not A, B or C" in result.output
    assert _count(store, "cov.agcom_comune") == 1
    assert _count(store, "ref.comune") == 243


def _infratel_rows(count):
    return INFRATEL_HEADER + "".join(f"016024,BERGAMO,VIA ROMA,{n},C\n" for n in range(1, count + 1))


def test_a_load_that_loses_most_rows_is_refused_unless_accepted(bergamo, tmp_path):
    """A file cut at a line boundary reads as a smaller valid file: it must not replace the live rows silently."""
    infratel.ingest(bergamo.engine, infratel.read(_write(tmp_path, "full.csv", _infratel_rows(10))), ("016",))
    cut = _write(tmp_path, "cut.csv", _infratel_rows(5))
    with pytest.raises(
        IngestError, match=r"replace 10 rows of cov.infratel_civico with 5 \(50% fewer.*--accept-shrink"
    ):
        infratel.ingest(bergamo.engine, infratel.read(cut), ("016",))
    assert _count(bergamo, "cov.infratel_civico") == 10
    infratel.ingest(bergamo.engine, infratel.read(_write(tmp_path, "some.csv", _infratel_rows(9))), ("016",))
    assert _count(bergamo, "cov.infratel_civico") == 9  # within the allowed share
    with shrink_policy(None):
        infratel.ingest(bergamo.engine, infratel.read(cut), ("016",))
    assert _count(bergamo, "cov.infratel_civico") == 5


def test_the_cli_refuses_a_truncated_source_and_accepts_it_on_purpose(bergamo, tmp_path, monkeypatch):
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", bergamo.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016")
    (tmp_path / "full").mkdir()
    (tmp_path / "cut").mkdir()
    _write(tmp_path / "full", "civici.csv", _infratel_rows(20))
    _write(tmp_path / "cut", "civici.csv", _infratel_rows(3))
    assert CliRunner().invoke(app, ["ingest", "all", "--sources", str(tmp_path / "full")]).exit_code == 0
    refused = CliRunner().invoke(app, ["ingest", "all", "--sources", str(tmp_path / "cut")])
    assert refused.exit_code == 1 and "truncated file" in refused.output
    assert _count(bergamo, "cov.infratel_civico") == 20
    accepted = CliRunner().invoke(app, ["ingest", "--accept-shrink", "all", "--sources", str(tmp_path / "cut")])
    assert accepted.exit_code == 0 and _count(bergamo, "cov.infratel_civico") == 3


def test_points_outside_the_crs_are_refused_row_by_row(bergamo, tmp_path):
    path = tmp_path / "places.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"pro_com_t": "016024", "name": "Bergamo", "place": "city"},
                     "geometry": {"type": "Point", "coordinates": [9.67, 45.69]}},
                    {"type": "Feature", "properties": {"pro_com_t": "016024", "name": "X", "place": "village"},
                     "geometry": {"type": "Point", "coordinates": [500, 500]}},
                ],
            }
        )
    )  # fmt: skip
    with pytest.raises(IngestError, match=r"row 2: coordinates outside the CRS's range \(not finite\)"):
        points.ingest_settlements(bergamo.engine, path, ("016",), 32632)
    assert _count(bergamo, "ref.settlement") == 0
    with bergamo.engine.begin() as conn, pytest.raises(sqlalchemy.exc.IntegrityError, match="geom_finite"):
        conn.execute(
            text(
                "INSERT INTO ref.settlement (id, pro_com_t, name, place, geom, ingest_run_id) "
                "SELECT 1, '016024', 'X', 'village', ST_SetSRID(ST_MakePoint('Infinity', 'Infinity'), 32632), "
                "min(id) FROM meta.ingest_run"
            )
        )


def test_a_repair_that_changes_the_area_is_a_rejection():
    """A self-intersecting outline made valid loses or gains area: beyond the tolerance it is refused."""
    bowtie = Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000), (0, 0)])  # two triangles crossing
    # a small crossing on the edge of a square: repaired, its area changes by 0.005 %
    nick = Polygon([(0, 0), (1000, 0), (1000, 1000), (0, 1000), (0, 510), (5, 490), (5, 510), (0, 490), (0, 0)])
    geoms = gpd.GeoSeries([bowtie, box(0, 0, 1000, 1000), nick], crs=32632)
    out, repaired, problems = to_multipolygons(geoms, 32632, np.array([1, 2, 3]))
    assert [p.row for p in problems] == [1] and "repairing it would change its area" in str(problems[0])
    assert repaired == 2 and out.iloc[1].area == pytest.approx(1e6) and out.iloc[2].area == pytest.approx(1e6, rel=1e-4)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("civici.csv", b"", "the file is empty"),
        ("civici.csv", "strada,civico\nVIA ROMA,1\n".encode("utf-16"), "NUL bytes"),
        ("luoghi.geojson", b"{not json at all", "not a readable vector file"),
    ],
)
def test_unreadable_files_fail_instead_of_going_unnoticed(store, tmp_path, monkeypatch, name, content, reason):
    (tmp_path / name).write_bytes(content)
    monkeypatch.setenv("AREAVASTA_DATABASE_URL", store.settings.database_url)
    monkeypatch.setenv("AREAVASTA_PROVINCES", "016")
    result = CliRunner().invoke(app, ["ingest", "all", "--sources", str(tmp_path)])
    assert result.exit_code == 1
    assert "unreadable failed" in result.output or "unreadable" in result.output
    with store.engine.connect() as conn:
        error = conn.execute(text("SELECT error FROM meta.ingest_run WHERE status = 'failed'")).scalar()
    assert error is not None and reason in error and name in error


def test_a_line_cut_short_is_refused(bergamo, tmp_path):
    """A file cut in the middle of its last line: the short line is named, nothing is loaded."""
    full = _infratel_rows(3)
    with pytest.raises(IngestError, match=r"row 3: has 4 fields where the header has 5 \(the file was cut short\?\)"):
        infratel.ingest(bergamo.engine, infratel.read(_write(tmp_path, "cut.csv", full[: full.rindex(",")])), ("016",))
    assert _count(bergamo, "cov.infratel_civico") == 0


def test_ookla_regions_must_be_italian_nuts2_codes(bergamo, tmp_path):
    header = "nuts2_id,quarter,avg_d,avg_u,avg_l,name\n"
    good = _write(tmp_path, "ok.csv", header + "ITC4,2025-01-01,150.2,40.1,12.0,Lombardia\n")
    assert ookla.ingest(bergamo.engine, good, ("016",)).rows_loaded == 1
    bad = _write(
        tmp_path,
        "bad.csv",
        header + "ITC4,2025-04-01,151,41,12,Lombardia\nDE21,2025-04-01,90,30,15,x\n,2025-04-01,1,1,1,y\n",
    )
    with pytest.raises(IngestError) as caught:
        ookla.ingest(bergamo.engine, bad, ("016",))
    assert "row 2, column region: 'DE21' is no Italian NUTS 2 region" in str(caught.value)
    assert "row 3, column region: no region code" in str(caught.value)
    assert _count(bergamo, "cov.ookla_speed") == 1  # the earlier load stays
