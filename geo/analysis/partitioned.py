"""The coverage analysis past one machine: its per-municipality steps partitioned on a dask.distributed cluster.

Municipal coverage figures are computed per province, each task on a worker with its own database connection;
the raster-weighted figures run on dask-geopandas partitions of the municipalities. The driver writes the run, in
one transaction, exactly as the single-process path does: the two give the same rows (tests check it).

Workers need what the driver has: the package, the database (its URL is sent with each task) and, for grids, the
raster files at the same paths (shared storage).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask_geopandas
import geopandas as gpd
import pandas as pd
from distributed import Client
from sqlalchemy import Connection, create_engine, text

from geo.analysis.coverage import rows_sql
from geo.analysis.grid import weighted_coverage

TASKS_PER_THREAD = 2
GRID_COLUMNS = ("pro_com_t", "population", "population_covered", "population_uncovered", "covered_share")


def province_rows(database_url: str, provinces: list[str], parameters: dict[str, Any], run_id: int) -> pd.DataFrame:
    """The coverage rows of ``provinces`` (a task: it opens and closes its own connection)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(
                text(rows_sql()),
                conn,
                params={**parameters, "run_id": run_id, "provinces": provinces},
            )
    finally:
        engine.dispose()


@dataclass
class Partitioned:
    """Runs the partitionable steps on ``client``'s cluster, one province (or slice of municipalities) a task."""

    client: Client
    database_url: str

    @property
    def threads(self) -> int:
        """Worker threads in the cluster now."""
        return sum(self.client.nthreads().values())

    def describe(self) -> str:
        """What the run records of where it ran."""
        workers = len(self.client.nthreads())
        address = self.client.scheduler_info().get("address", "?")
        return f"dask.distributed at {address}: {workers} workers, {self.threads} threads"

    def coverage_rows(self, conn: Connection, parameters: dict[str, Any], run_id: int) -> pd.DataFrame:
        """The coverage rows of all provinces, computed in a few tasks of whole provinces on the cluster."""
        provinces = conn.execute(text("SELECT cod_uts FROM ref.province ORDER BY cod_uts")).scalars().all()
        # a few tasks per worker thread, each a set of whole provinces: 107 one-province tasks would spend more
        # on connections than on work
        tasks = max(1, min(len(provinces), self.threads * TASKS_PER_THREAD))
        futures = [
            self.client.submit(
                province_rows, self.database_url, list(provinces[i::tasks]), parameters, run_id, pure=False
            )
            for i in range(tasks)
        ]
        frames = [frame for frame in self.client.gather(futures) if not frame.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def weighted_coverage(self, coverage: Path, population: Path, comuni: gpd.GeoDataFrame) -> pd.DataFrame:
        """Coverage weighted by population per municipality, computed on the cluster in slices of municipalities."""
        partitions = max(1, min(len(comuni), self.threads * TASKS_PER_THREAD))
        parts = dask_geopandas.from_geopandas(comuni.sort_values("pro_com_t"), npartitions=partitions)
        meta = pd.DataFrame({c: pd.Series(dtype="object" if c == "pro_com_t" else "float64") for c in GRID_COLUMNS})
        stats = parts.map_partitions(weighted_coverage_part, str(coverage), str(population), meta=meta)
        return self.client.compute(stats).result().sort_values("pro_com_t").reset_index(drop=True)


def weighted_coverage_part(comuni: gpd.GeoDataFrame, coverage: str, population: str) -> pd.DataFrame:
    """One partition of :func:`weighted_coverage` (empty partitions give an empty frame)."""
    if comuni.empty:
        return pd.DataFrame({c: [] for c in GRID_COLUMNS})
    return weighted_coverage(Path(coverage), Path(population), comuni)[list(GRID_COLUMNS)]
