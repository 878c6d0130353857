"""Bad input gives a clear error and leaves the loaded data as it was; re-runs change nothing."""

import json

import pytest
from sqlalchemy import text

from geo.db import bulk
from geo.ingest import boundaries
from geo.ingest.pipeline import IngestError, shrink_policy
from tests import istat_archive
from tests.conftest import fresh_store, template_database

CODES = ["016024", "016011", "017029"]


def _snapshot(engine) -> tuple:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM ref.comune")).scalar(),
            conn.execute(
                text("SELECT md5(string_agg(pro_com_t || ST_AsText(geom), ',' ORDER BY 1)) FROM ref.comune")
            ).scalar(),
            conn.execute(text("SELECT count(*) FROM ref.province")).scalar(),
        )


def _last_run(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT status, error FROM meta.ingest_run ORDER BY id DESC LIMIT 1")).one())


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """An ISTAT archive of the three municipalities of CODES."""
    return istat_archive.write_archive(tmp_path_factory.mktemp("good"), istat_archive.municipalities(CODES))


@pytest.fixture(scope="module")
def good_template(server, template, good):
    def load(store):
        boundaries.ingest(store.engine, boundaries.open_boundaries(str(good), 2023), None, 32632)

    with template_database(server, template, load) as name:
        yield name


@pytest.fixture
def loaded(server, good_template, tmp_path):
    """A fresh database with the good archive loaded, and its snapshot."""
    with fresh_store(server, good_template, data_dir=tmp_path) as store:
        before = _snapshot(store.engine)
        assert before[0] == len(CODES)
        yield store, before


def _fails(store, spec, match, **kwargs):
    with pytest.raises(IngestError, match=match) as info:
        boundaries.ingest(store.engine, boundaries.open_boundaries(spec, 2023, **kwargs), None, 32632)
    return info.value


def test_truncated_archive(loaded, good, tmp_path):
    store, before = loaded
    cut = tmp_path / "cut" / good.name
    cut.parent.mkdir()
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _fails(store, str(cut), "truncated")
    assert _snapshot(store.engine) == before


def test_truncated_geojson_names_the_file(loaded, tmp_path):
    store, before = loaded
    path = tmp_path / "comuni_2023.geojson"
    frame = istat_archive.municipalities(CODES).to_crs(4326)
    path.write_text(frame.to_json()[:5000])
    _fails(store, str(path), "(?s)comuni_2023.geojson.*cannot read the file")
    assert _snapshot(store.engine) == before


def test_missing_prj_is_an_unknown_crs(loaded, tmp_path):
    store, before = loaded
    archive = istat_archive.write_archive(tmp_path, istat_archive.municipalities(CODES), with_prj=False)
    error = _fails(store, str(archive), "unknown CRS")
    assert "Com01012023_WGS84.shp" in str(error)
    assert _snapshot(store.engine) == before


def test_duplicate_codes_are_listed_with_their_rows(loaded, tmp_path):
    store, before = loaded
    frame = istat_archive.municipalities(CODES)
    original = int(frame.index[frame["PRO_COM_T"] == "016024"][0]) + 1
    copy = 3 if original != 3 else 2
    frame.loc[copy - 1, "PRO_COM_T"] = "016024"
    archive = istat_archive.write_archive(tmp_path, frame)
    rows = sorted([original, copy])
    error = _fails(
        store, str(archive), rf"row {rows[1]}, column pro_com_t: duplicate municipality code 016024 \(rows \{rows}\)"
    )
    assert any(p.row is not None for p in error.problems)
    assert _snapshot(store.engine) == before
    status, message = _last_run(store.engine)
    assert status == "failed" and "duplicate municipality code 016024" in message


def test_empty_file(loaded, tmp_path):
    store, before = loaded
    empty = tmp_path / "comuni_2023.geojson"
    empty.write_bytes(b"")
    _fails(store, str(empty), "the file is empty")
    no_features = tmp_path / "none_2023.geojson"
    no_features.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    _fails(store, str(no_features), "no features")
    assert _snapshot(store.engine) == before


def test_wrong_header_says_what_it_needs(loaded, tmp_path):
    store, before = loaded
    frame = istat_archive.municipalities(CODES).to_crs(4326)[["COMUNE", "geometry"]]
    path = tmp_path / "comuni_2023.geojson"
    frame.to_file(path)
    _fails(store, str(path), "wrong header: needs a municipality code")
    assert _snapshot(store.engine) == before


def test_bad_code_is_reported_with_its_row(loaded, tmp_path):
    store, before = loaded
    frame = istat_archive.municipalities(CODES).to_crs(4326)
    frame["PRO_COM_T"] = frame["PRO_COM_T"].astype(object)
    frame.loc[1, "PRO_COM_T"] = "16A11"
    path = tmp_path / "comuni_2023.geojson"
    frame.to_file(path)
    error = _fails(store, str(path), r"row 2, column pro_com_t: municipality code '16A11' is not 6 digits")
    assert error.problems[0].row == 2
    assert _snapshot(store.engine) == before


def test_failure_during_the_swap_rolls_everything_back(loaded, tmp_path, monkeypatch):
    store, before = loaded
    archive = istat_archive.write_archive(tmp_path, istat_archive.municipalities(["016024"]))
    real_swap = bulk.swap

    def swap_then_crash(conn, staging, table, scope=None):
        real_swap(conn, staging, table, scope)
        if table.name == "comune":
            raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "swap", swap_then_crash)
    with shrink_policy(None):  # one municipality for three, on purpose: the crash is what is tested
        _fails(store, str(archive), "RuntimeError: disk full")
    assert _snapshot(store.engine) == before
    assert _last_run(store.engine)[0] == "failed"


def test_rerun_on_the_same_input_changes_nothing(loaded, good):
    store, before = loaded
    with store.engine.connect() as conn:
        runs_before = conn.execute(text("SELECT DISTINCT ingest_run_id FROM ref.comune")).scalars().all()
    first = boundaries.ingest(store.engine, boundaries.open_boundaries(str(good), 2023), None, 32632)
    second = boundaries.ingest(store.engine, boundaries.open_boundaries(str(good), 2023), None, 32632)
    assert first.status == second.status == "unchanged"
    assert first.content_hash == second.content_hash
    assert _snapshot(store.engine) == before
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT DISTINCT ingest_run_id FROM ref.comune")).scalars().all() == runs_before
        sha = conn.execute(text("SELECT source_sha256 FROM meta.ingest_run WHERE id = :i"), {"i": second.run_id})
        assert len(sha.scalar()) == 64


def test_data_and_their_run_record_commit_together(loaded, tmp_path):
    """The rows of a load and the end of its run are one transaction: the data version (which the cache keys on)
    can never lag the data, whatever moment a process dies at."""
    store, _ = loaded
    from geo.db import data_version

    archive = istat_archive.write_archive(tmp_path, istat_archive.municipalities(CODES[:2]))
    with store.engine.connect() as conn:
        version_before = data_version.read(conn)
    with shrink_policy(None):
        result = boundaries.ingest(store.engine, boundaries.open_boundaries(str(archive), 2023), None, 32632)
    with store.engine.connect() as conn:
        rows_xmin = conn.execute(
            text("SELECT DISTINCT xmin::text FROM ref.comune WHERE ingest_run_id = :r"), {"r": result.run_id}
        ).scalars()
        run_xmin = conn.execute(
            text("SELECT xmin::text FROM meta.ingest_run WHERE id = :r"), {"r": result.run_id}
        ).scalar_one()
        assert list(rows_xmin) == [run_xmin]
        assert data_version.read(conn) != version_before


def test_a_process_dying_before_the_commit_leaves_data_and_version_as_they_were(loaded, tmp_path, monkeypatch):
    store, before = loaded
    from geo.db import data_version
    from geo.ingest import pipeline

    with store.engine.connect() as conn:
        version_before = data_version.read(conn)
    real_finish = pipeline._finish_run

    def die_at_the_end(engine, run_id, **values):
        if values.get("status") == "succeeded":
            raise KeyboardInterrupt  # not an Exception: nothing records a failure, as after kill -9
        real_finish(engine, run_id, **values)

    monkeypatch.setattr(pipeline, "_finish_run", die_at_the_end)
    archive = istat_archive.write_archive(tmp_path, istat_archive.municipalities(["016024"]))
    with shrink_policy(None), pytest.raises(KeyboardInterrupt):
        boundaries.ingest(store.engine, boundaries.open_boundaries(str(archive), 2023), None, 32632)
    assert _snapshot(store.engine) == before
    with store.engine.connect() as conn:
        assert data_version.read(conn) == version_before
