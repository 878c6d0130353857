"""Reading publishers' CSV tables: any encoding (UTF-8 or cp1252), ``;`` or ``,``, gzip, Italian decimal commas,
and columns found by header name (never by position)."""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.ingest.pipeline import IngestError, Problem, flag

ENCODINGS = ("utf-8-sig", "cp1252")
MISSING = frozenset({"", "non disponibile", "n.d.", "nd", "null", "none"})


def header_key(name: str) -> str:
    """A header reduced to lower-case letters and digits (accents dropped), for matching by name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


@dataclass
class Table:
    """A CSV read as text, with the columns renamed to the caller's names."""

    frame: pd.DataFrame  # "_row" (data row number from 1) + the mapped columns, as str
    encoding: str
    delimiter: str
    label: str

    @property
    def decimal(self) -> str:
        """The decimal separator that goes with the delimiter: a comma for semicolon-separated files."""
        return "," if self.delimiter == ";" else "."


def _decode(raw: bytes, label: str) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise IngestError(label, [Problem("cannot decode the file as UTF-8 or cp1252")])


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in ``.gz``; IngestError when the gzip cannot be read."""
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise IngestError(str(path), [Problem(f"not a readable gzip file (truncated?): {exc}")]) from exc
    return data


def _check_last_line(text: str, delimiter: str, fields: int, rows: int, label: str) -> None:
    """A file cut in the middle of its last line leaves that line with fewer fields than the header (pandas would
    fill them in as blanks): refuse it, naming the row."""
    tail = text.rstrip("\r\n").rsplit("\n", 1)[-1]
    last = next(csv.reader([tail], delimiter=delimiter), [])
    if rows and len(last) < fields:
        raise IngestError(
            label,
            [Problem(f"has {len(last)} fields where the header has {fields} (the file was cut short?)", row=rows)],
        )


def read_table(
    path: Path,
    columns: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
    *,
    label: str | None = None,
) -> Table:
    """Read ``path`` and map its headers to ``columns`` (target name → accepted header names).

    Every name in ``required`` must be present; a clear error lists what is missing and what was found.
    """
    label = label or str(path)
    if not path.exists():
        raise IngestError(label, [Problem("no such file")])
    raw = read_bytes(path)
    if not raw.strip():
        raise IngestError(label, [Problem("the file is empty")])
    if b"\x00" in raw[:4096]:
        raise IngestError(label, [Problem("not a text CSV: NUL bytes (UTF-16 or a binary file?)")])
    text, encoding = _decode(raw, label)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL
        )
    except pd.errors.ParserError as exc:
        raise IngestError(label, [Problem(f"malformed CSV: {exc}")]) from exc
    found = {header_key(c): c for c in frame.columns}
    mapping: dict[str, str] = {}
    for target, accepted in columns.items():
        source = next((found[header_key(a)] for a in accepted if header_key(a) in found), None)
        if source is not None:
            mapping[source] = target
    missing = [t for t in required if t not in mapping.values()]
    if missing:
        raise IngestError(label, [Problem(f"wrong header: no column for {missing}; found {list(frame.columns)}")])
    out = frame[list(mapping)].rename(columns=mapping)
    _check_last_line(text, delimiter, len(frame.columns), len(frame), label)
    out = out.apply(lambda s: s.str.strip())
    out.insert(0, "_row", range(1, len(out) + 1))
    return Table(out, encoding, delimiter, label)


def is_missing(values: pd.Series) -> pd.Series:
    """Which values are missing: NA, blank, or a marker such as ``n.d.`` (case and surrounding spaces ignored)."""
    return values.isna() | values.astype(str).str.strip().str.lower().isin(MISSING)


def parse_numbers(
    values: pd.Series, rows: pd.Series, column: str, decimal: str, *, integer: bool, non_negative: bool = True
) -> tuple[pd.Series, list[Problem]]:
    """Numbers written in the file's locale (``1.234,5`` with ``;`` files); blanks become NaN.

    Returns the values and a problem for each cell that is not a number (not whole, for ``integer``;
    negative, for ``non_negative``).
    """
    if isinstance(values.dtype, np.dtype) and np.issubdtype(values.dtype, np.integer):
        # whole numbers already (a bundled table): nothing to read, nothing missing, the same values as their text
        blank = pd.Series(False, index=values.index)
        numbers = values.astype("int64")
    else:
        text = values.astype(str).str.strip()
        blank = is_missing(values)
        if decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & (numbers.isna() | (integer & (numbers % 1 != 0)))
    kind = "a whole number" if integer else "a number"
    problems = flag(bad, rows, values, "{value!r} is not " + kind, column)
    if non_negative:
        problems += flag(~bad & (numbers < 0), rows, values, "negative count {value}", column)
    return numbers, problems
