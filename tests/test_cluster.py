"""The managed cluster's life cycle, on a cluster of its own (the session cluster stays untouched)."""

import shutil
import socket
from pathlib import Path

import psycopg
import pytest

from geo.db.cluster import Cluster, ClusterError, find_bin_dir, safe_url
from tests.conftest import free_port, world_traversable_tempdir


@pytest.fixture
def cluster():
    root = world_traversable_tempdir("areavasta-lifecycle-")
    cluster = Cluster(root / "pg", free_port(), "areavasta", "areavasta")
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


def _postgis_version(cluster: Cluster) -> str:
    url = cluster.url().replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT postgis_lib_version()").fetchone()[0]


def test_start_stop_reset_are_idempotent(cluster):
    assert cluster.status().initialized is False
    cluster.start()
    cluster.start()
    status = cluster.status()
    assert status.running and status.initialized
    assert _postgis_version(cluster).startswith("3.")
    with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE TABLE marker (x int)")
        # byte-order collation, UTF-8 character classes: accented names still change case, and sort by code point
        locale = conn.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()")
        assert locale.fetchone() == ("C", "C.UTF-8")
        assert conn.execute("SELECT upper('forlì')").fetchone()[0] == "FORLÌ"
        words = ["zola", "Zogno", "Àrcore", "ùmbria", "Èrba", "019", "0160"]
        ordered = conn.execute("SELECT array_agg(w ORDER BY w) FROM unnest(%s::text[]) w", [words]).fetchone()[0]
        assert ordered == sorted(words)  # Python compares code points: the order C.UTF-8 gave
    cluster.stop()
    cluster.stop()
    assert not cluster.status().running
    cluster.start()
    with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT to_regclass('marker') IS NOT NULL").fetchone()[0]
    cluster.reset()
    assert cluster.status().running
    with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT to_regclass('marker') IS NULL").fetchone()[0]


def test_password_stays_private_and_out_of_messages(cluster):
    cluster.init()
    assert cluster.password_file.stat().st_mode & 0o077 == 0
    assert cluster.password() not in safe_url(cluster.url())
    assert "***" in safe_url(cluster.url())


def test_url_before_creation_says_what_to_run(tmp_path):
    with pytest.raises(ClusterError, match="areavasta db start"):
        Cluster(tmp_path / "pg", free_port(), "u", "d").url()


def test_missing_binaries_say_what_to_install(tmp_path: Path):
    with pytest.raises(ClusterError, match="apt-get install"):
        find_bin_dir(tmp_path)


def test_port_in_use_is_reported_with_the_server_log(cluster):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", cluster.port))
        blocker.listen()
        with pytest.raises(ClusterError, match=f"could not start the cluster on port {cluster.port}") as info:
            cluster.start()
    assert "server.log" in str(info.value)
