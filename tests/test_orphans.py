"""Runs and jobs left 'running' by a dead process are marked failed with the reason (at the server's start-up, after
a job, by the timeout for runs no process claims), and a run of a live process is never touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import jobs
from api.app import create_app
from geo import keys
from geo.db.orphans import OWN, mark_orphans, process_tag
from geo.db.store import open_store
from tests.test_api_limits import through_proxy

WAIT_S = 60  # a bound on waiting for another process or a job, far above what they take


@contextmanager
def owner_process(database_url: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Another process that opens the store, starts an ingest run, an analysis run and a job, and stays alive."""
    script = textwrap.dedent(
        """
        import sys, time
        from sqlalchemy import text
        from geo.db.engine import make_engine
        from geo.db.orphans import process_tag
        engine = make_engine(sys.argv[1])
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO meta.ingest_run (layer, source) VALUES ('boundaries', 'elsewhere')"))
            conn.execute(text("INSERT INTO out.analysis_run (kind, parameters, reference_versions, ingest_runs) "
                              "VALUES ('coverage', '{}', '{}', '{}')"))
            conn.execute(text("INSERT INTO meta.job (id, kind, status, parameters) "
                              "VALUES (:i, 'ingest', 'running', '{}')"), {"i": process_tag()})
        print(process_tag(), flush=True)
        time.sleep(3600)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script, database_url], stdout=subprocess.PIPE, text=True)
    try:
        tag = process.stdout.readline().strip()
        assert tag.startswith("areavasta:"), tag
        yield process, tag
    finally:
        process.kill()
        process.wait(timeout=20)


def _kill_and_wait(engine, process: subprocess.Popen, tag: str) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=20)
    deadline = time.monotonic() + WAIT_S  # the store notices the closed connection
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_stat_activity WHERE application_name = :t"), {"t": tag}).all():
                return
        time.sleep(0.1)
    pytest.fail(f"the connections of {tag} stayed open")


def _states(engine, tag: str) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT 'ingest' AS kind, status, error FROM meta.ingest_run WHERE owner = :o UNION ALL "
                "SELECT 'analysis', status, error FROM out.analysis_run WHERE owner = :o UNION ALL "
                "SELECT 'job', status, error FROM meta.job WHERE owner = :o"
            ),
            {"o": tag},
        ).all()
    return {row.kind: (row.status, row.error) for row in rows}


def test_runs_of_a_dead_process_fail_at_start_up_and_those_of_a_live_one_go_on(store):
    engine, url = store.engine, store.settings.database_url
    with owner_process(url) as (dead, dead_tag), owner_process(url) as (alive, alive_tag):
        with engine.begin() as conn:  # no owner tag (before migration 0014): one old, one recent
            conn.execute(
                text(
                    "INSERT INTO meta.ingest_run (layer, source, started_at) VALUES "
                    "('roads', 'old', now() - interval '25 hours'), ('roads', 'recent', now() - interval '1 hour')"
                )
            )
        _kill_and_wait(engine, dead, dead_tag)
        assert {v[0] for v in _states(engine, dead_tag).values()} == {"running"}
        with TestClient(create_app(store.settings)):  # the server starts
            dead_states = _states(engine, dead_tag)
            assert set(dead_states) == {"ingest", "analysis", "job"}
            for status, error in dead_states.values():
                assert status == "failed"
                assert error == f"marked failed: its process ended before the run did (owner {dead_tag})"
            assert {v[0] for v in _states(engine, alive_tag).values()} == {"running"}
            with engine.connect() as conn:
                unowned = dict(
                    conn.execute(text("SELECT source, error FROM meta.ingest_run WHERE owner IS NULL")).all()
                )
            assert unowned == {
                "old": "marked failed: no process claims it after 24 h (AREAVASTA_RUN_TIMEOUT_H)",
                "recent": None,
            }
        assert mark_orphans(engine, 24) == []  # nothing more while the other process lives
        _kill_and_wait(engine, alive, alive_tag)
        open_store(store.settings, start=False).dispose()  # as every command of the CLI opens the store
        assert {v[0] for v in _states(engine, alive_tag).values()} == {"failed"}
        assert mark_orphans(engine, 24) == []


def test_the_own_sweep_after_a_job_leaves_the_next_queued_job_alone(store):
    # a job's end sweeps its process's runs still 'running'; the next job, posted meanwhile, is only 'accepted'
    me = process_tag()
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO meta.ingest_run (layer, source, owner) VALUES ('boundaries', 'job', :o)"), {"o": me}
        )
        conn.execute(
            text("INSERT INTO meta.job (id, kind, parameters, owner) VALUES ('next', 'analyze', '{}', :o)"), {"o": me}
        )
    swept = mark_orphans(store.engine, 24, own=True)
    assert [(o.table, o.reason) for o in swept] == [("meta.ingest_run", OWN)]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT status, error FROM meta.job WHERE id = 'next'")).one() == ("accepted", None)


def test_a_job_caught_by_a_store_restart_ends_failed_with_its_run(store, monkeypatch):
    _, editor = keys.create(store.engine, "editor", "editor")
    go_on, tried = threading.Event(), threading.Event()

    def caught(engine, _request):
        with engine.begin() as conn:  # the job's own run, as an ingest records it
            conn.execute(text("INSERT INTO meta.ingest_run (layer, source) VALUES ('boundaries', 'job')"))
        go_on.wait(WAIT_S)
        try:
            with engine.connect() as conn:  # the store has gone away meanwhile
                conn.execute(text("SELECT 1"))
        finally:
            tried.set()
        return {}

    monkeypatch.setitem(jobs.JOBS, "caught", caught)
    with through_proxy(store.settings) as (settings, proxy), TestClient(create_app(settings)) as client:
        started = client.post("/jobs/caught", headers={"X-API-Key": editor})
        assert started.status_code == 201
        job = started.json()["jobID"]
        deadline = time.monotonic() + WAIT_S
        while not _states(store.engine, process_tag()).get("ingest") and time.monotonic() < deadline:
            time.sleep(0.05)
        proxy.cut()
        go_on.set()
        # the store comes back only once the job has met it down (on a loaded machine the job's thread could
        # otherwise run after the mend and succeed)
        assert tried.wait(WAIT_S)
        assert client.get(f"/jobs/{job}").status_code == 503  # the store is down
        proxy.mend()
        deadline = time.monotonic() + WAIT_S
        while (status := client.get(f"/jobs/{job}").json())["status"] != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status["status"] == "failed" and "OperationalError" in status["message"]
        deadline = time.monotonic() + WAIT_S
        while _states(store.engine, process_tag())["ingest"][0] != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        run_status, run_error = _states(store.engine, process_tag())["ingest"]
        assert run_status == "failed" and "its job ended without recording the run's end" in run_error
