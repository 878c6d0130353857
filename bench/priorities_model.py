"""The priorities step, this model side by side with an earlier one (a git revision), in one run: the four provinces
on the labelled synthetic road network, then a SYNTHETIC network of about 1M edges. Time and peak memory of the
process for each.

Each model runs in its own process on its own store (the earlier revision checked out in a temporary git worktree,
this script copied beside it), so both read the same files with their own code and schema.

Usage: python -m bench.priorities_model [--sources ../shared/data] [--previous afe7b2f] [--edges 1e6]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, free_port, header, peak_rss_mib

EDGES_AT_100_M = 94_800  # the generator's edge count at a 100 m street spacing (bench/scale.py)


def child(sources: Path, edges: int) -> dict[str, float]:
    """One model's run, in this process: its figures as JSON on the last line of the output."""
    import numpy as np

    from geo.analysis import coverage, priorities
    from geo.db.cluster import Cluster
    from geo.db.store import open_store
    from geo.ingest import roads, synthetic_roads
    from geo.ingest.catalog import ingest_all
    from geo.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="areavasta-bench-prio-"))
    folder.chmod(0o755)
    settings = Settings(data_dir=folder, pg_port=free_port(), database_url=None, _env_file=None)
    engine = open_store(settings, start=True, upgrade=True)
    figures: dict[str, float] = {}
    try:
        ingest_all(engine, settings, sources, show_progress=False, synthesise_roads=True)
        coverage.analyze(engine)
        start = time.perf_counter()
        priorities.analyze(engine)
        figures["provinces_s"] = time.perf_counter() - start
        figures["provinces_peak_mib"] = peak_rss_mib()
        spacing = 100.0 * np.sqrt(EDGES_AT_100_M / edges)
        graph = synthetic_roads.build(engine, synthetic_roads.SynthParams(street_spacing_m=float(spacing)))
        figures["edges"] = len(graph.edges)
        roads.ingest(engine, graph, settings.working_crs)
        del graph
        start = time.perf_counter()
        priorities.analyze(engine)
        figures["large_s"] = time.perf_counter() - start
        figures["large_peak_mib"] = peak_rss_mib()
    finally:
        engine.dispose()
        Cluster.from_settings(settings).stop()
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def run_model(root: Path, sources: Path, edges: int) -> dict[str, float]:
    script = root / "bench" / "_priorities_model_child.py"
    shutil.copy(Path(__file__), script)
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("AREAVASTA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, str(script), "--child", "--sources", str(sources), "--edges", str(edges)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    script.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"model at {root} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--previous", default="afe7b2f", help="git revision of the earlier model")
    parser.add_argument("--edges", type=float, default=1e6)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sources = args.sources.resolve()
    if args.child:
        print(json.dumps(child(sources, int(args.edges))))
        return
    worktree = Path(tempfile.mkdtemp(prefix="areavasta-previous-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.previous], cwd=REPO, check=True)
    try:
        previous = run_model(worktree, sources, int(args.edges))
        current = run_model(REPO, sources, int(args.edges))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False)
    lines = [
        header(f"Priorities: this model beside the model at {args.previous} (same data, same machine, one run)"),
        "\n| step | previous | this model | ratio |",
        "|---|---|---|---|",
        f"| four provinces (synthetic roads) | {previous['provinces_s']:.1f} s | {current['provinces_s']:.1f} s | "
        f"{current['provinces_s'] / previous['provinces_s']:.2f}× |",
        f"| {int(current['edges']):,} edges (SYNTHETIC) | {previous['large_s']:.1f} s | {current['large_s']:.1f} s | "
        f"{current['large_s'] / previous['large_s']:.2f}× |",
        f"| peak memory of the process | {previous['large_peak_mib']:,.0f} MiB | "
        f"{current['large_peak_mib']:,.0f} MiB | {current['large_peak_mib'] / previous['large_peak_mib']:.2f}× |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    if "--child" in sys.argv:
        sys.path.insert(0, str(Path.cwd()))
    main()
