"""Requests per second and latency of the OGC API, side by side with TiPg serving the same PostGIS tables.

The servers run in this one run, on the same database, one uvicorn worker each, and are loaded in turn by wrk
(one thread, 1/8/32 connections) on three queries: a 1,000-feature page of municipalities, a bbox query and a CQL2
filter. Their answers are checked to be the same features first. areavasta runs twice: as deployed (pre-encoded
responses, so a repeated query is served from memory) and with the response cache off, which builds every answer
from the database like TiPg does. The store must hold at least 1,000 municipalities
(load all of Italy: see docs/benchmarks.md).

Usage: python bench/api_load.py [--seconds 10] [--connections 1,8,32]
Needs wrk (apt) and TiPg in bench/.venv-tipg (``make bench-deps``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import BIN, REPO, cpu_seconds, free_port, header, parent_pid, process
from geo.db.engine import database_url
from geo.settings import Settings

TIPG = REPO / "bench" / ".venv-tipg" / "bin" / "uvicorn"
REPORT_SCRIPT = REPO / "bench" / "wrk_report.lua"
CQL = quote("cod_uts = '019'")
MIN_OVERLAP = 0.95  # a bbox edge may fall either side of a boundary vertex; anything more is a real disagreement


@dataclass(frozen=True)
class Query:
    name: str
    ours: str
    tipg: str


QUERIES = (
    Query(
        "municipalities, 1,000 per page",
        "/collections/municipalities/items?limit=1000",
        "/collections/ref.comune/items?limit=1000",
    ),
    Query(
        "bbox (Bergamo area), 100 per page",
        "/collections/municipalities/items?bbox=9.5,45.5,10.0,46.0&limit=100",
        "/collections/ref.comune/items?bbox=9.5,45.5,10.0,46.0&limit=100",
    ),
    Query(
        "CQL2 cod_uts = '019', 200 per page",
        f"/collections/municipalities/items?filter={CQL}&limit=200",
        f"/collections/ref.comune/items?filter={CQL}&filter-lang=cql2-text&limit=200",
    ),
)


def wrk(url: str, connections: int, seconds: int, pids: tuple[int, int]) -> dict:
    """One wrk cell, with the CPU milliseconds per request of the server and of PostgreSQL (``pids``: the server
    and the postmaster, each counted with its descendants)."""
    before = cpu_seconds(*pids)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(REPORT_SCRIPT), url],
        capture_output=True,
        text=True,
        check=True,
    )
    after = cpu_seconds(*pids)
    cell = json.loads(result.stdout.strip().splitlines()[-1])
    answered = max(cell["requests"], 1)
    cell["server_ms"], cell["pg_ms"] = ((b - a) * 1000 / answered for a, b in zip(before, after, strict=True))
    return cell


def cpu(cell: dict) -> str:
    return f"{cell['server_ms']:.2f} + {cell['pg_ms']:.2f}"


def compare(ours: str, tipg: str) -> str:
    """How the two answers compare; stops when they are not essentially the same features."""
    a, b = httpx.get(ours, timeout=120).json(), httpx.get(tipg, timeout=120).json()
    ids_a = {str(f["properties"]["pro_com_t"]) for f in a["features"]}
    ids_b = {str(f["properties"]["pro_com_t"]) for f in b["features"]}
    if a["numberMatched"] == b["numberMatched"] and ids_a == ids_b:
        return f"same {len(ids_a)} of {a['numberMatched']} features"
    overlap = len(ids_a & ids_b) / max(len(ids_a | ids_b), 1)
    if overlap < MIN_OVERLAP:
        raise SystemExit(f"the servers disagree on {ours} and {tipg}")
    return (
        f"areavasta {len(ids_a)} of {a['numberMatched']}, TiPg {len(ids_b)} of {b['numberMatched']} "
        f"(features on the box's edges; {overlap:.0%} of the page in common)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="1,8,32")
    args = parser.parse_args()
    for tool, hint in ((shutil.which("wrk"), "apt-get install wrk"), (TIPG.exists(), "make bench-deps")):
        if not tool:
            raise SystemExit(f"missing: {hint}")
    url = database_url(Settings())
    with create_engine(url).connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM ref.comune")).scalar_one()
        postmaster = parent_pid(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    if count < 1000:
        raise SystemExit(f"the store holds {count} municipalities; load all of Italy first (docs/benchmarks.md)")
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    ours_port, cold_port, tipg_port = free_port(), free_port(), free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AREAVASTA_", "TIPG_"))}
    ours_env = base_env | {"AREAVASTA_DATABASE_URL": url}
    cold_env = ours_env | {"AREAVASTA_RESPONSE_CACHE_MB": "0"}
    tipg_env = base_env | {"DATABASE_URL": plain, "TIPG_DB_SCHEMAS": '["ref"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    ours_base, cold_base, tipg_base = (f"http://127.0.0.1:{p}" for p in (ours_port, cold_port, tipg_port))
    notes: list[str] = []
    lines = [
        header("API: areavasta and TiPg on the same tables"),
        f"- store: {count} municipalities; wrk -t1, {args.seconds} s per cell, one uvicorn worker each\n",
        "| query | connections | areavasta req/s | no cache req/s | TiPg req/s | req/s vs TiPg | no cache vs TiPg "
        "| areavasta p50 / p95 ms | no cache p50 / p95 ms | TiPg p50 / p95 ms "
        "| CPU ms per request, server + PostgreSQL: areavasta / no cache / TiPg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with (
        process([str(BIN / "areavasta"), "serve", "--port", str(ours_port)], ours_env, f"{ours_base}/health") as ours_p,
        process([str(BIN / "areavasta"), "serve", "--port", str(cold_port)], cold_env, f"{cold_base}/health") as cold_p,
        process(
            [str(TIPG), "tipg.main:app", "--port", str(tipg_port), "--log-level", "warning"],
            tipg_env,
            f"{tipg_base}/collections",
        ) as tipg_p,
    ):
        for query in QUERIES:
            notes.append(f"- {query.name}: {compare(ours_base + query.ours, tipg_base + query.tipg)}")
            print(notes[-1], flush=True)
            for connections in (int(c) for c in args.connections.split(",")):
                ours = wrk(ours_base + query.ours, connections, args.seconds, (ours_p.pid, postmaster))
                cold = wrk(cold_base + query.ours, connections, args.seconds, (cold_p.pid, postmaster))
                tipg = wrk(tipg_base + query.tipg, connections, args.seconds, (tipg_p.pid, postmaster))
                for name, cell in (("areavasta", ours), ("areavasta, no cache", cold), ("TiPg", tipg)):
                    if cell["failed"]:
                        raise SystemExit(f"{name}: {cell['failed']} failed requests on {query.name}")
                lines.append(
                    f"| {query.name} | {connections} | {ours['rps']:.1f} | {cold['rps']:.1f} | {tipg['rps']:.1f} | "
                    f"{ours['rps'] / tipg['rps']:.1f}× | {cold['rps'] / tipg['rps']:.1f}× | "
                    f"{ours['p50_ms']:.1f} / {ours['p95_ms']:.1f} | {cold['p50_ms']:.1f} / {cold['p95_ms']:.1f} | "
                    f"{tipg['p50_ms']:.1f} / {tipg['p95_ms']:.1f} | {cpu(ours)} / {cpu(cold)} / {cpu(tipg)} |"
                )
                print(lines[-1], flush=True)
    print("\n".join([*lines, "", *notes]))


if __name__ == "__main__":
    main()
