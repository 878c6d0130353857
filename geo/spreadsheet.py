"""Sheets of a workbook written the same way everywhere: a formatted, frozen header, numbers as numbers, text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or carriage return first) kept as text, and
control characters (which no sheet can hold) dropped instead of failing the whole file; CSV cells made safe the
same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list of what makes a spreadsheet cell a formula
BLANKS = "".join(map(chr, range(33))) + "\x7f"  # spaces and control characters a spreadsheet may skip before a formula
# display formats by column name (the spreadsheet puts its own locale's separators: 1.234 in an Italian one): euro
# amounts whole, counts and metres with thousands, shares as percentages; the stored value keeps every digit
EURO = '"€" #,##0'
WHOLE = "#,##0"
SHARE = "0.0%"
DAY = "dd/mm/yyyy"
MOMENT = "dd/mm/yyyy hh:mm"


def number_format(name: str, values: pd.Series) -> str | None:
    """How a column's cells are shown, by its name and type (None: the spreadsheet's general format)."""
    present = values.dropna()
    first = present.iloc[0] if not present.empty else None
    if pd.api.types.is_datetime64_any_dtype(values) or isinstance(first, dt.datetime):
        return MOMENT
    if isinstance(first, dt.date):
        return DAY
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if name.endswith("_eur") or name.startswith("eur_per_"):
        return EURO
    if "_share" in name:
        return SHARE
    if name.endswith("_m") or name in ("population", "households", "benefit", "civici"):
        return WHOLE
    return None


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: text a spreadsheet would run as a formula (after any spaces or control characters)
    gets a leading ``'`` (as OWASP advises; a CSV cell has no type of its own to keep it text). Numbers are left
    alone: ``-3`` stays a number."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or value.lstrip(BLANKS).startswith(FORMULA_STARTS)):
        return "'" + value
    return value


def _cell_value(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters cannot be stored in a sheet at all
    return None if value is None or pd.isna(value) else value


def write_rows(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Write ``frame`` with a formatted, frozen header; strings are always text, never formulas."""
    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
    formats = [number_format(str(name), frame.iloc[:, i]) for i, name in enumerate(frame.columns)]
    for number_of_row, row in enumerate(frame.itertuples(index=False), start=2):
        for column, raw in enumerate(row, start=1):
            value = _cell_value(raw)
            cell = sheet.cell(row=number_of_row, column=column, value=value)
            if formats[column - 1] and value is not None:
                cell.number_format = formats[column - 1]
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cell.data_type = "s"  # a name like "=HYPERLINK(…)" from the data stays text
                cell.quotePrefix = True
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in list(column)[:200])
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 80)
