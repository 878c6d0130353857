"""The two numeric kernels against the usual Python baselines, side by side in one run:

- routing: multi-source cheapest routes (scipy csgraph, as ``geo.analysis.routing``) against networkx's
  ``multi_source_dijkstra`` on the same weighted graph, checked to give the same costs;
- zonal statistics: exactextract (coverage-weighted, as ``geo.ingest.rasters``) against rasterstats
  (cell-centre rule) on the same GeoTIFF and the 625 municipalities, with how far each total is from the raster's.

Usage: python -m bench.kernels [--sources ../shared/data] [--edges 250000] [--cell 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import rasterio
from affine import Affine

from bench.common import REPO, header
from geo.analysis.costs import Scenario, edge_costs, unit_costs
from geo.analysis.routing import RoadNetwork
from geo.ingest import rasters
from geo.ingest.pipeline import Source

WORKING_CRS = 32632
SOURCES, TARGETS = 20, 600


def lattice(edges: int, seed: int = 7) -> RoadNetwork:
    """A jittered street lattice of about ``edges`` edges (some removed at random), labelled by road class."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(edges / 2 / 0.9)) + 1
    ids = np.arange(side * side).reshape(side, side)
    xy = np.column_stack([(ids % side).ravel() * 100.0, (ids // side).ravel() * 100.0])
    xy += rng.normal(0, 15, xy.shape)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(len(u)) < 0.9
    u, v = u[keep], v[keep]
    length = np.hypot(*(xy[u] - xy[v]).T)
    highway = rng.choice(np.array(["residential", "tertiary", "secondary", "primary"], dtype=object), len(u))
    return RoadNetwork(ids.ravel(), xy, np.arange(len(u)), u, v, length, highway)


def bench_routing(edges: int) -> list[str]:
    network = lattice(edges)
    rng = np.random.default_rng(1)
    costs = edge_costs(network.length, network.highway, Scenario(), unit_costs())
    nodes = np.unique(np.concatenate([network.u, network.v]))
    sources = rng.choice(nodes, SOURCES, replace=False)
    targets = rng.choice(nodes, TARGETS, replace=False)

    start = time.perf_counter()
    graph = network.graph(costs)
    built = time.perf_counter()
    routes = graph.routes(sources, targets)
    ours_build, ours_query = built - start, time.perf_counter() - built

    start = time.perf_counter()
    reference = nx.Graph()
    reference.add_weighted_edges_from(
        (int(a), int(b), float(c)) for a, b, c in graph.pairs[["a", "b", "cost"]].itertuples(index=False)
    )
    built = time.perf_counter()
    distance, paths = nx.multi_source_dijkstra(reference, {int(s) for s in sources}, weight="weight")
    baseline_routes = [paths.get(int(t)) for t in targets]
    base_build, base_query = built - start, time.perf_counter() - built

    worst = max(
        abs(r.cost - distance[int(t)]) / max(distance[int(t)], 1.0) for r, t in zip(routes, targets, strict=True)
    )
    assert worst < 1e-9 and all(p is not None for p in baseline_routes), "routing and networkx disagree"
    what = f"{len(network.u):,} edges, {SOURCES} sources → {TARGETS} routes"
    agreement = f"same costs (max rel. diff {worst:.1e})"
    return [
        f"| routing, query: {what} | {ours_query:.3f} s | networkx {base_query:.2f} s | "
        f"**{base_query / ours_query:.0f}×** | {agreement} |",
        f"| routing, graph build + query | {ours_build + ours_query:.2f} s | networkx "
        f"{base_build + base_query:.2f} s | **{(base_build + base_query) / (ours_build + ours_query):.0f}×** | |",
    ]


def population_grid(path: Path, comuni: gpd.GeoDataFrame, cell: float, seed: int = 3) -> Path:
    """A synthetic population grid (people per cell) over the municipalities' extent, in the working CRS."""
    west, south, east, north = comuni.to_crs(WORKING_CRS).total_bounds
    width, height = int((east - west) / cell) + 1, int((north - south) / cell) + 1
    data = np.random.default_rng(seed).gamma(0.6, 20.0, (height, width)).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs=f"EPSG:{WORKING_CRS}",
        transform=Affine.translation(west, north) @ Affine.scale(cell, -cell),
        nodata=-1.0,
        tiled=True,
    ) as dst:
        dst.write(data, 1)
    return path


def bench_zonal(comuni_path: Path, cell: float) -> list[str]:
    from rasterstats import zonal_stats

    comuni = gpd.read_file(comuni_path)
    comuni = comuni.rename(
        columns={c: "pro_com_t" for c in comuni.columns if c.lower() in ("pro_com_t", "com_istat_code")}
    )
    with tempfile.TemporaryDirectory() as folder:
        path = population_grid(Path(folder) / "population.tif", comuni, cell)
        with rasterio.open(path) as src:
            cells = src.width * src.height
        raster = rasters.RasterFile(
            path, "population", "population", {"crs_wkt": f"EPSG:{WORKING_CRS}"}, Source(str(path), None)
        )
        start = time.perf_counter()
        ours = rasters.zonal(raster, comuni)
        ours_s = time.perf_counter() - start
        projected = comuni.to_crs(WORKING_CRS)
        start = time.perf_counter()
        baseline = zonal_stats(list(projected.geometry), str(path), stats=["sum", "mean", "count"], nodata=-1.0)
        baseline_s = time.perf_counter() - start
        # the reference total: every cell's value times the share of it inside the union of the municipalities
        union = gpd.GeoDataFrame({"pro_com_t": ["all"]}, geometry=[projected.union_all()], crs=WORKING_CRS)
        exact_total = float(rasters.zonal(raster, union)["sum"].sum())
    ours_error = abs(float(ours["sum"].sum()) - exact_total) / exact_total
    baseline_error = abs(sum(s["sum"] or 0 for s in baseline) - exact_total) / exact_total
    return [
        f"| zonal: {len(comuni)} municipalities over {cells / 1e6:.1f} M cells of {cell:.0f} m | {ours_s:.2f} s | "
        f"rasterstats {baseline_s:.2f} s | **{baseline_s / ours_s:.1f}×** | total off by {ours_error:.1e} "
        f"(rasterstats {baseline_error:.1e}) |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--edges", type=int, default=250_000)
    parser.add_argument("--cell", type=float, default=100.0)
    args = parser.parse_args()
    lines = [
        header("Kernels: routing against networkx, zonal statistics against rasterstats"),
        "| kernel | areavasta | baseline | speed-up | agreement |",
        "|---|---|---|---|---|",
        *bench_routing(args.edges),
        *bench_zonal(args.sources / "istat_comuni_boundaries" / "comuni_area_vasta.geojson", args.cell),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
