"""The shared ingest protocol: read → validate → load to staging → check → swap, recorded in provenance.

A layer's reader turns a source into a :class:`Prepared` batch (one frame per live table) or raises
:class:`IngestError` naming file, row and reason. :func:`run_ingest` then loads every frame into a staging
table and replaces the live rows in one transaction, so a failure at any point leaves the previous data as
it was, and the provenance table records the run either way.

Rows that name a municipality the store does not hold (another ISTAT vintage: municipalities merge every year) are
left out by the layer's reader and listed as :func:`not_loaded` problems; :func:`run_ingest` alone decides, for every
layer, whether they fail the load or are rejected and recorded (``AREAVASTA_UNKNOWN_MUNICIPALITIES``, set for a block
with :func:`municipality_policy`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, insert, text, update

from geo.db import bulk
from geo.models import IngestRun

MAX_PROBLEMS_SHOWN = 20
# a load that would leave fewer than this share of a layer's live rows is refused unless accepted: a file cut short
# at a line boundary reads as a valid, smaller file
DEFAULT_MAX_SHRINK = 0.2
MAX_SHRINK: ContextVar[float | None] = ContextVar("max_shrink", default=DEFAULT_MAX_SHRINK)
MAX_REJECTED_LISTED = 100  # rows left out that a run lists by row and reason (it counts them all)
UnknownPolicy = Literal["fail", "reject"]
UNKNOWN_MUNICIPALITIES: ContextVar[UnknownPolicy] = ContextVar("unknown_municipalities", default="fail")
REJECT_HINT = (
    "; if it is another ISTAT vintage, set AREAVASTA_UNKNOWN_MUNICIPALITIES=reject to leave such rows out and "
    "record them"
)


@dataclass(frozen=True)
class Problem:
    """One reason a source cannot be loaded; ``row`` counts data rows from 1 (None: the whole file)."""

    reason: str
    row: int | None = None
    column: str | None = None
    not_loaded: bool = False  # the row names a municipality (or territory) the store does not hold

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return (", ".join(where) + ": " if where else "") + self.reason


class IngestError(Exception):
    """A source that cannot be loaded, with the file and every problem found in it."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{shown}{tail}")


@dataclass
class TableLoad:
    """Rows for one live table and the scope of live rows they replace (empty: the whole table).

    ``counted`` tables make the run's ``rows_loaded``; derived tables (provinces dissolved from
    municipalities) are loaded but not counted.
    """

    table: Table
    frame: pd.DataFrame
    scope: bulk.Scope = field(default_factory=dict)
    counted: bool = True
    after_staging: Callable[[Connection, str], None] | None = None


@dataclass
class Prepared:
    """A validated batch ready to load."""

    loads: list[TableLoad]
    rows_read: int
    reference_date: dt.date | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # rows left out on purpose, each with row and reason; those naming no loaded municipality (:func:`not_loaded`)
    # fail the load instead unless the policy is "reject"
    rejected: list[Problem] = field(default_factory=list)

    @property
    def recorded_details(self) -> dict[str, Any]:
        """The details the run records: the layer's own, and how many rows were left out and the first of them."""
        if not self.rejected:
            return self.details
        first = [str(p) for p in self.rejected[:MAX_REJECTED_LISTED]]
        return self.details | {"rejected_rows": len(self.rejected), "rejected_first": first}


@dataclass(frozen=True)
class Source:
    """Where a batch comes from: a path, URL or package, and the SHA-256 of its bytes."""

    location: str
    sha256: str | None

    @classmethod
    def from_path(cls, path: Path) -> Source:
        """The source at ``path``, hashing a file's bytes or a folder's tree."""
        return cls(str(path), sha256_file(path) if path.is_file() else sha256_tree(path))


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run recorded: its id, layer, status, row counts, reference date and content hash."""

    run_id: int
    layer: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    reference_date: dt.date | None
    content_hash: str
    details: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """SHA-256 over the names and contents of the files below ``path``, in name order."""
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(item.relative_to(path)).encode())
        digest.update(sha256_file(item).encode())
    return digest.hexdigest()


def _start_run(engine: Engine, layer: str, source: Source, synthetic: bool) -> int:
    table = IngestRun.__table__
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(table)
                .values(layer=layer, source=source.location, source_sha256=source.sha256, synthetic=synthetic)
                .returning(table.c.id)
            ).scalar_one()
        )


def _finish_run(engine: Engine | Connection, run_id: int, **values: Any) -> None:
    """Record the run's end: in ``engine``'s own transaction, or in the open transaction of a connection."""
    table = IngestRun.__table__
    # the clock, not now(): the end of a long transaction is not its start
    statement = update(table).where(table.c.id == run_id).values(finished_at=func.clock_timestamp(), **values)
    if isinstance(engine, Connection):
        engine.execute(statement)
        return
    with engine.begin() as conn:
        conn.execute(statement)


@contextmanager
def municipality_policy(policy: UnknownPolicy) -> Iterator[None]:
    """Loads in this block fail on rows naming no loaded municipality (``fail``), or leave them out and record them
    (``reject``)."""
    token = UNKNOWN_MUNICIPALITIES.set(policy)
    try:
        yield
    finally:
        UNKNOWN_MUNICIPALITIES.reset(token)


def not_loaded(
    mask: pd.Series, rows: pd.Series, values: pd.Series, reason: str, column: str | None = None
) -> list[Problem]:
    """Like :func:`flag`, for rows whose municipality (or territory) is not loaded: the reader leaves them out and
    lists them in ``Prepared.rejected`` and in any :class:`IngestError` it raises; the policy does the rest."""
    return [replace(p, not_loaded=True) for p in flag(mask, rows, values, reason, column)]


def _refused(problem: Problem) -> Problem:
    return replace(problem, reason=problem.reason + REJECT_HINT)


def _under_policy(error: IngestError) -> IngestError:
    """A reader's error as the policy has it: rows naming no loaded municipality are left out of it under "reject"
    (they would have been rejected), listed with the way to reject them under "fail"."""
    if not any(p.not_loaded for p in error.problems):
        return error
    if UNKNOWN_MUNICIPALITIES.get() == "reject":
        others = [p for p in error.problems if not p.not_loaded]
        return IngestError(error.source, others) if others else error
    return IngestError(error.source, [_refused(p) if p.not_loaded else p for p in error.problems])


def _apply_policy(source: str, prepared: Prepared) -> None:
    """Under "fail", rows naming no loaded municipality fail the load, each named with its row."""
    unknown = [p for p in prepared.rejected if p.not_loaded]
    if unknown and UNKNOWN_MUNICIPALITIES.get() == "fail":
        raise IngestError(source, [_refused(p) for p in unknown])


@contextmanager
def shrink_policy(max_share: float | None) -> Iterator[None]:
    """Loads in this block may lose at most ``max_share`` of a layer's live rows (None: any share, on purpose)."""
    token = MAX_SHRINK.set(max_share)
    try:
        yield
    finally:
        MAX_SHRINK.reset(token)


def _check_shrink(conn: Connection, source: str, load: TableLoad) -> None:
    limit = MAX_SHRINK.get()
    if limit is None or not load.counted:
        return
    before = bulk.count(conn, load.table, load.scope)
    after = len(load.frame)
    if before and after < before * (1 - limit):
        raise IngestError(
            source,
            [
                Problem(
                    f"the load would replace {before:,} rows of {load.table.fullname} with {after:,} "
                    f"({1 - after / before:.0%} fewer, more than {limit:.0%}): a truncated file? If the source "
                    "really shrank, load it again with 'areavasta ingest --accept-shrink …'"
                )
            ],
        )


def _load(conn: Connection, run_id: int, loads: Sequence[TableLoad]) -> tuple[int, str, bool]:
    """Stage every table, then swap those whose content changed. Returns rows, content hash, changed."""
    staged: list[tuple[TableLoad, str]] = []
    for load in loads:
        staging = bulk.create_staging(conn, load.table)
        frame = load.frame.assign(ingest_run_id=run_id)
        bulk.copy_frame(conn, staging, load.table, frame)
        if load.after_staging is not None:
            load.after_staging(conn, staging)
        staged.append((load, staging))
    rows, hashes, changed = 0, [], False
    for load, staging in staged:
        new_hash = bulk.content_hash(conn, f'"{staging}"', load.table)
        old_hash = bulk.content_hash(conn, load.table.fullname, load.table, load.scope)
        if new_hash != old_hash:
            bulk.swap(conn, staging, load.table, load.scope)
            # fresh statistics with the rows: the analyses that join these tables right after an ingest would
            # otherwise be planned blind (school matching: 1.4 s instead of 0.4 s for the four provinces)
            conn.execute(text(f"ANALYZE {load.table.fullname}"))
            changed = True
        if load.counted:
            rows += len(load.frame)
        hashes.append(new_hash)
    return rows, hashlib.md5("".join(hashes).encode()).hexdigest(), changed


def run_ingest(
    engine: Engine,
    layer: str,
    source: Source,
    prepare: Callable[[Connection], Prepared],
    *,
    synthetic: bool = False,
) -> IngestResult:
    """Run one ingest of ``layer`` as a single transaction, recording it in ``meta.ingest_run``.

    ``prepare`` reads and validates the source; it gets the load's connection so that it can check codes
    against the live reference tables in the same snapshot it will replace. Rows it left out for naming no loaded
    municipality fail the load or are rejected as :data:`UNKNOWN_MUNICIPALITIES` says.
    """
    run_id = _start_run(engine, layer, source, synthetic)
    try:
        with engine.begin() as conn:
            try:
                prepared = prepare(conn)
            except IngestError as exc:
                worded = _under_policy(exc)
                if worded is exc:
                    raise
                raise worded from exc
            _apply_policy(source.location, prepared)
            for load in prepared.loads:
                _check_shrink(conn, source.location, load)
            rows, digest, changed = _load(conn, run_id, prepared.loads)
            status = "succeeded" if changed else "unchanged"
            # in the data's own transaction: no crash can leave new rows under an old data version
            _finish_run(
                conn,
                run_id,
                status=status,
                rows_read=prepared.rows_read,
                rows_loaded=rows,
                rows_rejected=len(prepared.rejected),
                reference_date=prepared.reference_date,
                content_hash=digest,
                details=prepared.recorded_details or None,
            )
    except IngestError as exc:
        _finish_run(engine, run_id, status="failed", error=str(exc))
        raise
    except Exception as exc:
        error = IngestError(source.location, [Problem(f"{type(exc).__name__}: {exc}")])
        _finish_run(engine, run_id, status="failed", error=str(error))
        raise error from exc
    return IngestResult(
        run_id,
        layer,
        status,
        prepared.rows_read,
        rows,
        len(prepared.rejected),
        prepared.reference_date,
        digest,
        prepared.recorded_details,
    )


def flag(mask: pd.Series, rows: pd.Series, values: pd.Series, reason: str, column: str | None = None) -> list[Problem]:
    """A problem for every row where ``mask`` holds; ``reason`` may use ``{value}``, the row's cell."""
    return [
        Problem(reason.format(value=value), row=int(row), column=column)
        for row, value in zip(rows[mask], values[mask], strict=True)
    ]
