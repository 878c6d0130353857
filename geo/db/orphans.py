"""Runs and jobs left ``running`` by a process that died (killed, out of memory, a store restart under it) are
marked failed, with the reason, instead of staying ``running`` for ever.

Every connection a process opens through :func:`geo.db.engine.make_engine` carries the process's tag as its
PostgreSQL ``application_name``, and every run and job records the tag of the connection that created it
(``owner``, migration 0014). A run is in progress while a connection with its owner's tag is open: a live process
keeps at least one (its pool, the one its load runs on, the server's listener). So a run whose owner has no
connection left is an orphan, whatever the clock says; a run with no owner tag (created by a client that sets no
tag, or before 0014) is one only after ``AREAVASTA_RUN_TIMEOUT_H``. A run of a live process is never touched.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, text

TAG_PREFIX = "areavasta:"
_TAG: tuple[int, str] | None = None

# table, the states of an unfinished entry, its failed state, its start column
TRACKED = (
    ("meta.ingest_run", ("running",), "failed", "started_at"),
    ("out.analysis_run", ("running",), "failed", "started_at"),
    ("meta.job", ("accepted", "running"), "failed", "created_at"),
)
DEAD_OWNER = "its process ended before the run did (owner "
NO_OWNER = "no process claims it after {hours:g} h (AREAVASTA_RUN_TIMEOUT_H)"
OWN = "its job ended without recording the run's end (the store was unreachable?)"


def process_tag() -> str:
    """This process's tag (``areavasta:<pid>:<random>``; a forked child gets its own)."""
    global _TAG
    pid = os.getpid()
    if _TAG is None or _TAG[0] != pid:
        _TAG = (pid, f"{TAG_PREFIX}{pid}:{secrets.token_hex(6)}")
    return _TAG[1]


@dataclass(frozen=True)
class Orphan:
    """An unfinished run or job marked failed: its table, id and the reason recorded."""

    table: str
    id: str
    reason: str


def mark_orphans(engine: Engine, timeout_h: float, *, own: bool = False) -> list[Orphan]:
    """Mark failed every unfinished run and job whose process has died, and those without an owner tag older than
    ``timeout_h``; with ``own``, also this process's own running ones (its caller knows none of them is in progress;
    a job of its own still waiting its turn, ``accepted``, is left to run).

    The owners' connections are looked up in the same statement that marks the rows, so a run that a process
    commits meanwhile is either not seen or seen with its owner's connection open."""
    found: list[Orphan] = []
    me = process_tag()
    with engine.begin() as conn:
        for table, unfinished, failed, started in TRACKED:
            rows = conn.execute(
                text(
                    f"""
                    WITH alive AS (
                        SELECT DISTINCT application_name AS tag FROM pg_stat_activity
                        WHERE datname = current_database() AND application_name LIKE :prefix
                    ), orphan AS (
                        SELECT id, CASE
                            WHEN :own AND owner = :me AND status = 'running' THEN :own_reason
                            WHEN owner LIKE :prefix AND owner <> :me AND owner NOT IN (SELECT tag FROM alive)
                                THEN :dead_reason || owner || ')'
                            WHEN (owner IS NULL OR owner NOT LIKE :prefix)
                                AND {started} < now() - make_interval(secs => :timeout_s) THEN :no_owner_reason
                        END AS reason
                        FROM {table} WHERE status = ANY(:unfinished)
                    )
                    UPDATE {table} t SET status = :failed, finished_at = clock_timestamp(),
                        error = concat_ws('; ', t.error, 'marked failed: ' || o.reason)
                    FROM orphan o WHERE t.id = o.id AND o.reason IS NOT NULL AND t.status = ANY(:unfinished)
                    RETURNING t.id, o.reason
                    """
                ),
                {
                    "prefix": TAG_PREFIX + "%",
                    "own": own,
                    "me": me,
                    "own_reason": OWN,
                    "dead_reason": DEAD_OWNER,
                    "no_owner_reason": NO_OWNER.format(hours=timeout_h),
                    "timeout_s": timeout_h * 3600,
                    "unfinished": list(unfinished),
                    "failed": failed,
                },
            ).all()
            found += [Orphan(table, str(row.id), row.reason) for row in rows]
    return found
