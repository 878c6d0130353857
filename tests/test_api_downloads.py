"""Files for spreadsheets: a name from the data that a spreadsheet would run as a formula stays text, in every XLSX
(openpyxl: a string cell, never a formula) and every CSV (a leading quote, as OWASP advises); the same priorities
give the same files from the OGC items and from the officers' downloads."""

import csv
import io
import json
from urllib.parse import quote

import openpyxl
import pandas as pd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app

PAYLOAD = '=HYPERLINK("http://x","y")'
OTHERS = ["+1+1", "-2+3", "@SUM(A1)", "\t=1+1"]


@pytest.fixture(scope="module")
def client(results):
    with results.engine.begin() as conn:  # this module's own copy of the analysed store
        conn.execute(text("UPDATE ref.comune SET comune = :n WHERE pro_com_t = '016024'"), {"n": PAYLOAD})
        for rank, name in enumerate([PAYLOAD, *OTHERS], start=1):
            conn.execute(text("UPDATE out.priority_item SET name = :n WHERE rank = :r"), {"n": name, "r": rank})
    with TestClient(create_app(results.settings)) as client:
        yield client


def _cells(book: openpyxl.Workbook, values: set[str]) -> list[openpyxl.cell.Cell]:
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value in values]


def test_a_formula_in_a_municipality_name_is_text_in_the_xlsx_of_items(client):
    response = client.get("/collections/municipalities/items", params={"f": "xlsx", "pro_com_t": "016024"})
    assert response.status_code == 200
    cells = _cells(openpyxl.load_workbook(io.BytesIO(response.content)), {PAYLOAD})
    assert len(cells) == 1 and cells[0].data_type == "s" and cells[0].value == PAYLOAD


def test_a_formula_in_a_municipality_name_is_quoted_in_the_csv_of_items(client):
    response = client.get("/collections/municipalities/items", params={"f": "csv", "pro_com_t": "016024"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["comune"] for row in rows] == ["'" + PAYLOAD]


def test_formulas_in_target_names_are_text_in_the_priorities_xlsx(client):
    response = client.get("/downloads/priorities.xlsx")
    assert response.status_code == 200
    cells = _cells(openpyxl.load_workbook(io.BytesIO(response.content)), {PAYLOAD, *OTHERS})
    assert sorted(c.value for c in cells) == sorted([PAYLOAD, *OTHERS])
    assert {c.data_type for c in cells} == {"s"}


def test_formulas_in_target_names_are_quoted_in_the_priorities_csv(client):
    response = client.get("/downloads/priorities.csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    names = [row["name"] for row in sorted(rows, key=lambda r: int(r["rank"]))[:5]]
    assert names == ["'" + name for name in [PAYLOAD, *OTHERS]]
    assert all(not row["capex_eur"].startswith("'") for row in rows)  # numbers stay numbers


UTM = "http://www.opengis.net/def/crs/EPSG/0/32632"  # the officers' files are in the working CRS


def _gpkg(body: bytes, path) -> tuple[list[tuple[str, str]], pd.DataFrame]:
    path.write_bytes(body)
    (layer, _), *_ = pyogrio.list_layers(path)
    info = pyogrio.read_info(path, layer=layer)
    frame = pyogrio.read_dataframe(path, layer=layer)
    return list(zip(info["fields"], info["dtypes"], strict=True)), frame


def test_the_same_priorities_give_the_same_files_by_either_path(client, tmp_path):
    """The OGC items of the priority collections and the officers' files of the run: same columns, same types, same
    values (XLSX sheets, GeoPackage layers and CSV), written by the same writers."""
    export = openpyxl.load_workbook(io.BytesIO(client.get("/downloads/priorities.xlsx").content))
    items = client.get("/collections/priorities/items", params={"f": "xlsx", "crs": UTM})
    sheet = list(openpyxl.load_workbook(io.BytesIO(items.content)).active.iter_rows(values_only=True))
    provinces = [list(export[name].iter_rows(values_only=True)) for name in export.sheetnames if "provincia" in name]
    assert all(rows[0] == sheet[0] for rows in provinces) and sheet[0][-2:] == ("x", "y")
    by_target = sheet[0].index("target_id")
    exported = sorted((row for rows in provinces for row in rows[1:]), key=lambda row: row[by_target])
    assert len(exported) > 1000 and exported == sorted(sheet[1:], key=lambda row: row[by_target])

    export_path = tmp_path / "export.gpkg"
    export_path.write_bytes(client.get("/downloads/priorities.gpkg").content)
    for layer, collection, keys in (
        ("targets", "priorities", ["target_id"]),
        ("routes", "priority-routes", ["target_id"]),
        ("placements", "priority-placements", ["target_id", "grd_id"]),
    ):
        response = client.get(f"/collections/{collection}/items", params={"f": "gpkg", "crs": UTM})
        fields, served = _gpkg(response.content, tmp_path / f"{collection}.gpkg")
        info = pyogrio.read_info(export_path, layer=layer)
        assert list(zip(info["fields"], info["dtypes"], strict=True)) == fields, layer
        written = pyogrio.read_dataframe(export_path, layer=layer)
        assert len(written) > 1000
        pd.testing.assert_frame_equal(
            written.sort_values(keys).reset_index(drop=True).to_wkb(),
            served.sort_values(keys).reset_index(drop=True).to_wkb(),
        )

    exported_csv = list(csv.reader(io.StringIO(client.get("/downloads/priorities.csv").text)))
    served_csv = list(csv.reader(io.StringIO(client.get("/collections/priorities/items?f=csv&crs=" + UTM).text)))
    assert exported_csv[0] == served_csv[0] and exported_csv[0][-1] == "geometry_wkt"
    target = served_csv[0].index("target_id")
    assert sorted(exported_csv[1:], key=lambda row: row[target]) == sorted(served_csv[1:], key=lambda row: row[target])


def test_a_run_named_beyond_ascii_downloads_under_its_encoded_name(client, results):
    # scenario names are ASCII now; a run stored before may carry any name, and the file must still come
    name = 'città "nord" Ω'
    with results.engine.begin() as conn:
        run, before = conn.execute(
            text("SELECT id, parameters FROM out.analysis_run WHERE kind = 'priorities' ORDER BY id DESC LIMIT 1")
        ).one()
        conn.execute(
            text("UPDATE out.analysis_run SET parameters = :p WHERE id = :id"),
            {"p": json.dumps({**before, "name": name}), "id": run},
        )
    try:
        response = client.get("/downloads/priorities.csv", params={"run": run})
        assert response.status_code == 200
        assert response.headers["content-disposition"] == "attachment; filename*=utf-8''" + quote(
            f"priorities-run{run}-{name}.csv", safe=""
        )
    finally:
        with results.engine.begin() as conn:
            conn.execute(
                text("UPDATE out.analysis_run SET parameters = :p WHERE id = :id"), {"p": json.dumps(before), "id": run}
            )
