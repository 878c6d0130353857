"""Finding columns by name and writing codes as zero-padded text, shared by the ingest modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from geo.ingest.pipeline import IngestError, Problem, flag, not_loaded
from geo.models import PRO_COM_T_PATTERN, Comune


def pick_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` that ``frame`` has as a column, compared without case."""
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def map_distinct(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)``, calling ``func`` once per distinct value: source columns repeat (codes, streets, civic
    numbers), so millions of rows cost thousands of calls."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    mapped = np.empty(len(distinct), dtype=object)
    mapped[:] = [func(v) for v in distinct]
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def zero_padded(values: pd.Series, width: int) -> pd.Series:
    """Zero-padded text codes; numbers written as floats (``16024.0``) are accepted, anything else kept as is."""

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, int | np.integer) or (
            isinstance(value, float | np.floating) and float(value).is_integer()
        ):
            return str(int(value)).zfill(width)
        text = str(value).strip()
        return text.zfill(width) if text.isdigit() else text

    return map_distinct(values, one)


UNKNOWN_CODE = "unknown municipality code {value} (not in the loaded boundaries)"


def municipality_codes(
    rows: pd.DataFrame,
    column: str,
    provinces: tuple[str, ...] | None,
    known: set[str],
    label: str,
) -> tuple[pd.DataFrame, list[Problem], list[Problem]]:
    """Rows of the configured provinces with a ``pro_com_t`` column, a problem for every malformed code, and the
    rows left out because their well-formed code of those provinces names no loaded municipality (another ISTAT
    vintage: municipalities merge every year; :func:`~geo.ingest.pipeline.not_loaded`, the pipeline's policy decides
    on them). ``rows`` carries the file row numbers in ``_row``; ``label`` is the column name shown in messages.
    """
    codes = zero_padded(rows[column], 6).astype(str)
    malformed = ~codes.str.match(PRO_COM_T_PATTERN)
    problems = flag(malformed, rows["_row"], rows[column], "municipality code {value!r} is not 6 digits", label)
    in_scope = malformed | (codes.str[:3].isin(provinces) if provinces is not None else True)
    rows = rows[in_scope].assign(pro_com_t=codes[in_scope])
    unknown = ~malformed[in_scope] & ~rows["pro_com_t"].isin(known)
    left_out = not_loaded(unknown, rows["_row"], rows["pro_com_t"], UNKNOWN_CODE, label)
    return rows[~unknown], problems, left_out


def loaded_municipalities(conn: Connection, label: str) -> set[str]:
    """Codes of the municipalities in the store; a layer keyed by municipality cannot load before them."""
    known = set(conn.execute(select(Comune.pro_com_t)).scalars())
    if not known:
        raise IngestError(label, [Problem("no municipalities loaded: ingest the boundaries first")])
    return known
