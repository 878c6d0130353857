"""A replica deployment that runs: a streaming replica of the managed primary, both started by the project on
loopback; the API reads from the replica (AREAVASTA_DATABASE_URL), jobs write to the primary
(AREAVASTA_WRITE_DATABASE_URL), and cached answers move to a new data version only once the replica has replayed
the run that made it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text

from geo import keys
from geo.db import migrate
from geo.db.cluster import Cluster
from geo.ingest import boundaries
from tests.conftest import free_port, world_traversable_tempdir
from tests.served import serving


def _plain(url: str) -> str:
    return url.replace("+psycopg", "")


@pytest.fixture(scope="module")
def deployment() -> Iterator[tuple[Cluster, Cluster]]:
    root = world_traversable_tempdir("areavasta-replica-")
    primary = Cluster(root / "primary", free_port(), "areavasta", "areavasta")
    replica = Cluster(root / "replica", free_port(), "areavasta", "areavasta")
    primary.start()
    try:
        engine = create_engine(primary.url())
        migrate.upgrade(engine)
        boundaries.ingest(engine, boundaries.from_geopop(2023), ("019",), 32632)
        engine.dispose()
        replica.replica_of(primary)
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def _name(base: str) -> str:
    return httpx.get(f"{base}/collections/municipalities/items/019036?f=json").json()["properties"]["comune"]


def test_the_replica_serves_and_the_cache_waits_for_its_replay(deployment):
    primary, replica = deployment
    with serving(replica.url(), write_database_url=primary.url()) as base:
        assert _name(base) == "Cremona"
        assert httpx.get(f"{base}/ready").status_code == 200
        with psycopg.connect(_plain(replica.url()), autocommit=True) as standby:
            standby.execute("SELECT pg_wal_replay_pause()")
            try:
                with psycopg.connect(_plain(primary.url()), autocommit=True) as conn, conn.transaction():
                    # a run's commit, as an ingest makes it: data and the run's end together
                    conn.execute("UPDATE ref.comune SET comune = 'Cremona (nuova)' WHERE pro_com_t = '019036'")
                    conn.execute(
                        "INSERT INTO meta.ingest_run (layer, source, status, finished_at) "
                        "VALUES ('boundaries', 'test', 'succeeded', clock_timestamp())"
                    )
                time.sleep(1.5)  # the notification has long arrived; the replica has not replayed the commit
                assert _name(base) == "Cremona"  # the replica's data, never a mix
            finally:
                standby.execute("SELECT pg_wal_replay_resume()")
        for _ in range(100):
            if _name(base) == "Cremona (nuova)":
                break
            time.sleep(0.1)
        assert _name(base) == "Cremona (nuova)"  # replayed: the cached page moved with it


def test_jobs_write_to_the_primary_and_are_read_back(deployment):
    primary, replica = deployment
    _, secret = keys.create(create_engine(primary.url()), "replica test", "editor")
    with serving(replica.url(), write_database_url=primary.url()) as base:
        started = httpx.post(f"{base}/jobs/analyze", headers={"X-API-Key": secret})
        assert started.status_code == 201, started.text
        job = started.json()["jobID"]
        for _ in range(100):
            document = httpx.get(f"{base}/jobs/{job}").json()
            status = document["status"]
            if status not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert status in ("failed", "successful")  # it ran, on the primary (a replica refuses every write)
        assert "read-only" not in (document["message"] or "")
    with create_engine(primary.url()).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM meta.job WHERE id = :j"), {"j": job}).scalar_one() == 1
