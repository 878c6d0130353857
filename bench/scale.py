"""Scale curves: how the coverage and priority steps grow with the number of civic numbers and of road edges.

On a fresh store of the four provinces (real boundaries, population, AGCOM, schools, settlements), the Infratel list
is replaced by SYNTHETIC lists of 1M, 2M and 4M civic numbers (real rows resampled, civic numbers redrawn), each
loaded through the real reader and ingest, then analysed; and the road network by SYNTHETIC networks of about
250k, 500k and 1M edges (the generator's street grids made denser), each loaded and then prioritised. Time per
step at each size, and the growth factor per doubling (2.0 is linear; n log n is a little above).

Usage: python -m bench.scale [--sources ../shared/data] [--civics 1e6,2e6,4e6] [--edges 250e3,5e5,1e6]
(an empty list skips that curve)
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import REPO, free_port, header, peak_rss_mib
from geo.analysis import coverage, priorities
from geo.db.cluster import Cluster
from geo.db.store import open_store
from geo.ingest import infratel, roads, synthetic_roads
from geo.ingest.catalog import ingest_all
from geo.ingest.pipeline import shrink_policy
from geo.settings import Settings

INFRATEL = Path("infratel_mappatura2025_civici_non_coperti") / "civici_non_coperti_300mbps_2028.csv"
# the generator's edge count goes as the inverse square of its street spacing: about 94,800 edges at 100 m here
EDGES_AT_100_M = 94_800


def synthetic_civics(real: pd.DataFrame, rows: int, path: Path, seed: int = 11) -> Path:
    """``rows`` civic numbers drawn from the real list (municipality and street kept, number redrawn)."""
    rng = np.random.default_rng(seed)
    sample = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    sample["civico"] = rng.integers(1, 4000, rows).astype(str)
    sample.to_csv(path, index=False)
    return path


def timed(step: object, *args: object) -> float:
    start = time.perf_counter()
    step(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def growth(times: list[float], sizes: list[float]) -> list[str]:
    """Time ratio per doubling of the size between consecutive points (2.0 = linear)."""
    out = ["–"] if times else []
    points = list(zip(times, sizes, strict=True))
    for (t0, n0), (t1, n1) in itertools.pairwise(points):
        out.append(f"{(t1 / t0) ** (np.log(2) / np.log(n1 / n0)):.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--civics", default="1e6,2e6,4e6")
    parser.add_argument("--edges", default="250e3,5e5,1e6")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="areavasta-bench-scale-"))
    folder.chmod(0o755)
    settings = Settings(data_dir=folder, pg_port=free_port(), database_url=None, _env_file=None)
    os.environ.pop("AREAVASTA_DATABASE_URL", None)
    engine = open_store(settings, start=True, upgrade=True)
    lines = [header("Scale: civic numbers and road edges (SYNTHETIC lists and networks on the four provinces)")]
    try:
        ingest_all(engine, settings, args.sources, show_progress=False, synthesise_roads=True)
        real = pd.read_csv(args.sources / INFRATEL, dtype=str, keep_default_na=False)
        sizes = [int(float(v)) for v in args.civics.split(",") if v]
        ingest_times, analysis_times = [], []
        for rows in sizes:
            path = synthetic_civics(real, rows, folder / f"SYNTHETIC_civici_{rows}.csv")
            ingest_times.append(timed(lambda p=path: infratel.ingest(engine, infratel.read(p), settings.provinces)))
            analysis_times.append(timed(coverage.analyze, engine))
            path.unlink()
            print(f"{rows:,} civics: ingest {ingest_times[-1]:.1f} s, analysis {analysis_times[-1]:.1f} s", flush=True)
        lines += [
            "\n| civic numbers | ingest (read, normalise, COPY) | per doubling | coverage analysis | per doubling |",
            "|---|---|---|---|---|",
        ]
        for row in zip(
            sizes, ingest_times, growth(ingest_times, sizes), analysis_times, growth(analysis_times, sizes), strict=True
        ):
            lines.append(f"| {row[0]:,} | {row[1]:.1f} s | {row[2]} | {row[3]:.1f} s | {row[4]} |")
        with shrink_policy(None):  # back to the real list from the largest synthetic one, on purpose
            infratel.ingest(engine, infratel.read(args.sources / INFRATEL), settings.provinces)
        coverage.analyze(engine)

        edge_counts, build_times, load_times, priority_times = [], [], [], []
        for wanted in (int(float(v)) for v in args.edges.split(",") if v):
            spacing = 100.0 * np.sqrt(EDGES_AT_100_M / wanted)
            start = time.perf_counter()
            graph = synthetic_roads.build(engine, synthetic_roads.SynthParams(street_spacing_m=float(spacing)))
            build_times.append(time.perf_counter() - start)
            load_times.append(timed(roads.ingest, engine, graph, settings.working_crs))
            edge_counts.append(len(graph.edges))
            del graph
            priority_times.append(timed(priorities.analyze, engine))
            print(
                f"{edge_counts[-1]:,} edges: build {build_times[-1]:.1f} s, load {load_times[-1]:.1f} s, "
                f"priorities {priority_times[-1]:.1f} s",
                flush=True,
            )
        lines += [
            "\n| road edges | generate | load (COPY, indexes) | priorities (routing, greedy, store) | per doubling |",
            "|---|---|---|---|---|",
        ]
        for count, build, load, plan, factor in zip(
            edge_counts, build_times, load_times, priority_times, growth(priority_times, edge_counts), strict=True
        ):
            lines.append(f"| {count:,} | {build:.1f} s | {load:.1f} s | {plan:.1f} s | {factor} |")
        lines.append(f"\n- peak memory of the benchmark process: {peak_rss_mib():,.0f} MiB")
    finally:
        engine.dispose()
        Cluster.from_settings(settings).stop()
        shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
