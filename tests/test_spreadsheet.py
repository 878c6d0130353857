"""Spreadsheet cells from the data: text that a spreadsheet would run as a formula stays text; numbers stay numbers;
in CSV too, whichever separator the spreadsheet splits on."""

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from geo.spreadsheet import BLANKS, FORMULA_STARTS, write_rows
from geo.writers import csv_chunks


def _round_trip(frame: pd.DataFrame) -> openpyxl.worksheet.worksheet.Worksheet:
    book = openpyxl.Workbook()
    write_rows(book.active, frame)
    out = io.BytesIO()
    book.save(out)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue())).active


def test_a_formula_in_a_name_is_written_as_text():
    names = ['=HYPERLINK("http://evil.example/x","Scuola")', "+1+1", "-2", "@SUM(A1)", "Scuola Primaria"]
    sheet = _round_trip(pd.DataFrame({"name": names, "capex_eur": [1.5, 2.0, None, 4.0, 5.0]}))
    assert [c.value for c in sheet["A"][1:]] == names
    assert all(c.data_type == "s" for c in sheet["A"][1:])
    assert [c.value for c in sheet["B"][1:]] == [1.5, 2.0, None, 4.0, 5.0]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold


@given(st.text(min_size=1, max_size=40))
def test_no_string_ever_becomes_a_formula_or_breaks_the_file(text):
    cell = _round_trip(pd.DataFrame({"v": [text]}))["A2"]
    kept = ILLEGAL_CHARACTERS_RE.sub("", text)
    assert cell.data_type != "f"
    assert (cell.value or "") == kept
    if kept.startswith(FORMULA_STARTS):
        assert cell.data_type == "s"


@given(st.text(max_size=40), st.sampled_from([",", ";", "\t"]))
def test_no_csv_field_runs_as_a_formula_whatever_the_separator(text, separator):
    """Excel in Italian splits a CSV on ";": "x;=1" must not leave a cell "=1". Read with any separator, a field that
    would be a formula is the number or starts with "'"; read with ",", the text is one cell, as written."""
    lines = "".join(csv_chunks(["nome", "abitanti"], [((text, -3), None)]))
    for field in list(csv.reader(io.StringIO(lines), delimiter=separator))[1]:
        if field.lstrip(BLANKS).startswith(FORMULA_STARTS) or field.startswith(FORMULA_STARTS):
            assert field == "-3" or field.startswith("'"), (separator, field)
    cells = list(csv.reader(io.StringIO(lines)))[1]
    assert cells[0] in (text, "'" + text) and cells[1] == "-3"


def test_amounts_counts_shares_and_dates_are_shown_as_an_officer_reads_them():
    frame = pd.DataFrame(
        {
            "capex_eur": [777.5714285714287, None],
            "route_length_m": [12_480.3, 0.0],
            "ftth_share": [0.9412, 0.5],
            "coverage_ref_date": [dt.date(2025, 6, 30), dt.date(2025, 3, 31)],
            "finished_at": pd.to_datetime(["2026-12-01 21:03", "2026-12-01 21:04"]),
            "bc_ratio": [0.00032, 0.1],
            "selected": [True, False],
            "name": ["Bergamo", "=1+1"],
        }
    )
    sheet = _round_trip(frame)
    shown = {sheet.cell(row=1, column=c).value: sheet.cell(row=2, column=c).number_format for c in range(1, 9)}
    assert shown == {
        "capex_eur": '"€" #,##0',
        "route_length_m": "#,##0",
        "ftth_share": "0.0%",
        "coverage_ref_date": "dd/mm/yyyy",
        "finished_at": "dd/mm/yyyy hh:mm",
        "bc_ratio": "General",
        "selected": "General",
        "name": "General",
    }
    assert sheet["A2"].value == 777.5714285714287  # the value keeps every digit; only its display is rounded
    assert sheet["A3"].value is None and sheet["A3"].number_format == "General"
