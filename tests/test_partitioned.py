"""The coverage analysis partitioned on a dask.distributed LocalCluster gives exactly the single-process rows."""

import pytest
from sqlalchemy import text

from geo.analysis import coverage
from geo.ingest import rasters
from tests.raster_fixture import write_constant

AREA = (540_000.0, 4_970_000.0, 720_000.0, 5_140_000.0)  # the four provinces in EPSG:32632, with margin
TABLES = {
    "out.coverage_comune": "pro_com_t, ref_date",
    "out.coverage_area": "level, code, ref_date",
    "out.coverage_change": "level, code, to_date",
    "out.school_connectivity": "codicescuola",
    "out.grid_coverage": "pro_com_t",
}


@pytest.fixture(scope="module")
def with_grids(layers, tmp_path_factory):
    store, _ = layers
    folder = tmp_path_factory.mktemp("grids")
    # holes of nodata in different places make the weighted figures differ from one municipality to the next
    population = write_constant(folder / "pop.tif", AREA, 1000, 25.0, 32632, hole=(slice(20, 90), slice(30, 70)))
    covered = write_constant(folder / "cov.tif", AREA, 1000, 0.6, 32632, hole=(slice(60, 120), slice(0, 50)))
    rasters.ingest(store.engine, rasters.read(population, "population"))
    rasters.ingest(store.engine, rasters.read(covered, "coverage"))
    return store


def _rows(conn, table, order, run_id):
    result = conn.execute(text(f"SELECT * FROM {table} WHERE run_id = :r ORDER BY {order}"), {"r": run_id})
    return [tuple(v for k, v in row._mapping.items() if k != "run_id") for row in result]


def test_partitioned_run_equals_the_single_process_run(with_grids):
    # imported here, not when pytest collects every file in every worker (dask and distributed: about 1 s)
    from distributed import Client, LocalCluster

    from geo.analysis.partitioned import Partitioned

    store = with_grids
    single = coverage.analyze(store.engine)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        spread = coverage.analyze(store.engine, partitioned=Partitioned(client, store.settings.database_url))
    with store.engine.connect() as conn:
        for table, order in TABLES.items():
            expected = _rows(conn, table, order, single.id)
            assert expected, f"{table} is empty: the comparison would prove nothing"
            assert _rows(conn, table, order, spread.id) == expected, table
        execution = conn.execute(
            text("SELECT parameters->>'execution' FROM out.analysis_run WHERE id = :r"), {"r": spread.id}
        ).scalar()
    assert execution.startswith("dask.distributed") and "2 workers" in execution
