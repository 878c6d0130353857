"""Files for spreadsheets: a name from the data that a spreadsheet would run as a formula stays text, in every XLSX
(openpyxl: a string cell, never a formula) and every CSV (a leading quote, as OWASP advises)."""

import csv
import io

import openpyxl
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
