"""Ookla fixed-broadband speeds aggregated by EDJNet to provinces (NUTS 3), municipalities (LAU) and regions (NUTS 2),
per quarter: context for planners, not a coverage measure (crowd-sourced tests; licence CC BY-NC-SA 4.0).

One file per level; each load replaces the rows of its level. Province and municipality codes must be loaded ones
(rows of other provinces are left out when the territory is limited; a code of the configured provinces that is not
loaded is another ISTAT vintage or a wrong code, and the pipeline's policy decides on it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine

from geo.ingest.fields import loaded_municipalities
from geo.ingest.layers import OOKLA, Context
from geo.ingest.pipeline import (
    IngestError,
    IngestResult,
    Prepared,
    Problem,
    Source,
    TableLoad,
    flag,
    not_loaded,
    run_ingest,
)
from geo.ingest.tabular import parse_numbers, read_table
from geo.models import OoklaSpeed

LAYER = OOKLA.name
LICENCE = "Speedtest by Ookla open data via EDJNet, CC BY-NC-SA 4.0 (non-commercial)"
CODES = {"province": "prov_istat_code", "municipality": "com_istat_code", "region": "nuts2_id"}
# Italy's NUTS 2 codes (2021): ITC1-ITC4 north-west, ITH1-ITH5 north-east, ITI1-ITI4 centre, ITF1-ITF6 south,
# ITG1-ITG2 islands; no loaded table checks a region, so its code is checked by form
NUTS2_ITALY = r"IT(?:C[1-4]|H[1-5]|I[1-4]|F[1-6]|G[12])"
COLUMNS = {
    "quarter": ("quarter",),
    "down": ("avg_d",),
    "up": ("avg_u",),
    "latency": ("avg_l",),
    "name": ("name",),
    **{level: (column,) for level, column in CODES.items()},
}


def ingest(engine: Engine, path: Path, provinces: tuple[str, ...] | None) -> IngestResult:
    """Load one file of speeds; every number and quarter checked row by row."""
    table = read_table(path, COLUMNS, ("quarter", "down", "up", "latency"))
    frame = table.frame
    level = next((lvl for lvl in CODES if lvl in frame), None)
    if level is None:
        raise IngestError(table.label, [Problem(f"no territory column: needs one of {', '.join(CODES.values())}")])
    rows = frame["_row"]
    quarters = pd.to_datetime(frame["quarter"], format="%Y-%m-%d", errors="coerce")
    problems = flag(quarters.isna(), rows, frame["quarter"], "quarter {value!r} is not a date (YYYY-MM-DD)", "quarter")
    problems += flag(
        quarters.notna() & ~quarters.dt.is_quarter_start, rows, frame["quarter"], "{value} starts no quarter"
    )
    values = {}
    for column in ("down", "up", "latency"):
        values[column], found = parse_numbers(frame[column], rows, column, table.decimal, integer=False)
        problems += found + flag(values[column].isna(), rows, frame[column], "no value", column)
    if level == "region":
        blank = frame[level].fillna("").str.strip() == ""
        outside = ~blank & ~frame[level].fillna("").str.fullmatch(NUTS2_ITALY)
        problems += flag(blank, rows, frame[level], "no region code", level)
        problems += flag(outside, rows, frame[level], "{value!r} is no Italian NUTS 2 region (Lombardia: ITC4)", level)
    if problems:
        raise IngestError(table.label, problems)
    codes = frame[level].str.zfill({"province": 3, "municipality": 6}.get(level, 0))

    def _prepare(conn: Connection) -> Prepared:
        keep = pd.Series(True, index=frame.index)
        unknown: list[Problem] = []
        if level != "region":
            known = loaded_municipalities(conn, table.label)
            known_codes = known if level == "municipality" else {code[:3] for code in known}
            keep = codes.isin(known_codes)
            inside = codes.str[:3].isin(provinces) if provinces is not None else pd.Series(True, index=codes.index)
            # in the configured territory yet not loaded: not a filter but a code of another vintage, or a wrong one
            unknown = not_loaded(~keep & inside, rows, codes, "territory {value} is not loaded", level)
        loaded = pd.DataFrame(
            {
                "level": level,
                "code": codes,
                "quarter": quarters.dt.date,
                "name": frame.get("name"),
                "avg_down_mbps": values["down"],
                "avg_up_mbps": values["up"],
                "avg_latency_ms": values["latency"],
            }
        )[keep]
        if loaded.empty:
            raise IngestError(table.label, [Problem("no rows for the loaded territory"), *unknown])
        return Prepared(
            loads=[TableLoad(OoklaSpeed.__table__, loaded, scope={"level": level})],
            rows_read=len(frame),
            rejected=unknown,
            reference_date=max(loaded["quarter"]),
            details={"level": level, "licence": LICENCE, "left_out": int((~keep).sum())},
        )

    return run_ingest(engine, f"{LAYER}:{level}", Source.from_path(path), _prepare)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """One file of speeds, as ``ingest all`` loads it."""
    return ingest(engine, path, context.provinces)
