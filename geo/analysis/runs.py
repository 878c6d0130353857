"""Analysis runs: parameters, reference-table versions, the ingest runs read, timings and status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, text

from geo.ingest.layers import provenance_tables
from geo.models import WORKING_SRID, Base

if TYPE_CHECKING:  # the service reads runs (latest_run) without loading pandas
    import pandas as pd

SQL_DIR = Path(__file__).with_name("sql")


class AnalysisError(RuntimeError):
    """An analysis that cannot run, or failed; its run is recorded as failed."""


def sql(name: str) -> str:
    """The text of ``sql/<name>.sql`` beside this module."""
    return (SQL_DIR / f"{name}.sql").read_text()


def input_runs(conn: Connection) -> dict[str, list[int]]:
    """For each table an analysis reads (the layers' provenance tables in the registry), the ingest runs whose
    rows it holds now."""
    runs = {}
    for table in provenance_tables():
        ids = conn.execute(text(f"SELECT DISTINCT ingest_run_id FROM {table} ORDER BY 1")).scalars().all()
        runs[table] = [int(i) for i in ids]
    return runs


@dataclass
class Run:
    """A run in progress: its id and the seconds each named step took."""

    id: int
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as step ``name`` (seconds, rounded to the millisecond)."""
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)


def run_analysis(
    engine: Engine,
    kind: str,
    parameters: dict[str, Any],
    versions: dict[str, str],
    body: Callable[[Connection, Run], None],
) -> Run:
    """Record a run, execute ``body`` in one transaction (all results or none), and mark the run's end."""
    with engine.begin() as conn:
        run_id = conn.execute(
            text(
                "INSERT INTO out.analysis_run (kind, parameters, reference_versions, ingest_runs) "
                "VALUES (:kind, :parameters, :versions, :inputs) RETURNING id"
            ),
            {
                "kind": kind,
                "parameters": json.dumps(parameters, default=str),
                "versions": json.dumps(versions),
                "inputs": json.dumps(input_runs(conn)),
            },
        ).scalar_one()
    run = Run(int(run_id))
    try:
        with engine.begin() as conn:
            body(conn, run)
            refresh_statistics(conn, run.id)
            # in the results' own transaction: no crash can leave results of a run still 'running'
            conn.execute(
                text(
                    "UPDATE out.analysis_run SET status = 'succeeded', finished_at = clock_timestamp(), timings = :t "
                    "WHERE id = :i"
                ),
                {"t": json.dumps(run.timings), "i": run.id},
            )
    except Exception as exc:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE out.analysis_run SET status = 'failed', finished_at = now(), error = :e, "
                    "timings = :t WHERE id = :i"
                ),
                {"e": f"{type(exc).__name__}: {exc}", "t": json.dumps(run.timings), "i": run.id},
            )
        raise AnalysisError(f"{kind} analysis run {run.id} failed: {exc}") from exc
    return run


def insert_rows(conn: Connection, table: str, frame: pd.DataFrame, geometries: tuple[str, ...] = ()) -> None:
    """Write ``frame`` into the result table ``table`` (NaN as NULL; ``geometries``: columns of hex WKB in the
    working CRS)."""
    records = [
        {str(k): v for k, v in record.items()}
        for record in frame.astype(object).where(frame.notna(), None).to_dict("records")
    ]
    if not records:
        return
    values = ", ".join(
        f"ST_SetSRID(ST_GeomFromWKB(decode(:{c}, 'hex')), {WORKING_SRID})" if c in geometries else f":{c}"
        for c in frame.columns
    )
    conn.execute(text(f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({values})"), records)


def result_tables() -> list[Table]:
    """The tables holding the results of runs (schema ``out``, keyed by ``run_id``), as declared in the models."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if table.schema == "out" and "run_id" in table.c and table.c.run_id.primary_key
    ]


def refresh_statistics(conn: Connection, run_id: int) -> None:
    """Fresh planner statistics of the keys of every result table that holds rows of run ``run_id``.

    The maps and downloads read a run as soon as it ends; until autovacuum comes by (a minute or more), the planner
    would take the new rows for none and pick nested loops: 3.9 s for the priorities map instead of 0.6 s. The keys
    alone (not the geometries) keep the cost to tens of milliseconds a table.
    """
    for table in result_tables():
        if conn.execute(text(f"SELECT 1 FROM {table.fullname} WHERE run_id = :r LIMIT 1"), {"r": run_id}).first():
            keys = ", ".join(column.name for column in table.primary_key.columns)
            conn.execute(text(f"ANALYZE {table.fullname} ({keys})"))


def latest_run(conn: Connection, kind: str, scenario: str | None = None) -> int | None:
    """The newest successful run of ``kind`` (the default for every query of results), of ``scenario`` if given."""
    return conn.execute(
        text(
            "SELECT max(id) FROM out.analysis_run WHERE kind = :k AND status = 'succeeded' "
            "AND (CAST(:s AS text) IS NULL OR parameters->>'name' = :s)"
        ),
        {"k": kind, "s": scenario},
    ).scalar()
