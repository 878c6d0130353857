"""The service under hostile load (#18): a full page at 64 connections, random uncached boxes at 32, and parallel
spreadsheet exports; errors, p99 and the server's resident memory before, after each run and after a rest.

One areavasta process (as deployed: response cache on) over the configured store, loaded by wrk (one thread) and,
for the exports, by parallel HTTP clients. The cache bound is AREAVASTA_RESPONSE_CACHE_MB: memory after the runs
should stay within it of the memory before.

Usage: python -m bench.load_runs [--seconds 10] [--exports 8]
Needs wrk (apt).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import BIN, REPO, free_port, header
from geo.db.engine import database_url
from geo.settings import Settings

REPORT_SCRIPT = REPO / "bench" / "wrk_report.lua"
FULL_PAGE = "/collections/municipalities/items?limit=10000"
EXPORT = "/collections/roads/items?f=xlsx&limit=10000"
# every request a box of its own somewhere over the four provinces: nothing can be served from the cache
RANDOM_BOXES = """
math.randomseed(42)
request = function()
  local x = 9.4 + math.random() * 1.6
  local y = 45.0 + math.random() * 1.2
  local d = 0.02 + math.random() * 0.2
  return wrk.format(nil, string.format(
    "/collections/municipalities/items?bbox=%.5f,%.5f,%.5f,%.5f&limit=100", x, y, x + d, y + d))
end
"""


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the uvicorn server), in MiB."""
    total = 0.0
    for child in [pid, *_children(pid)]:
        status = Path(f"/proc/{child}/status")
        if status.exists():
            line = next((x for x in status.read_text().splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
            total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in found.read_text().split()] if found.exists() else []


def wrk(base: str, connections: int, seconds: int, path: str | None = None, script: str = "") -> dict:
    """One wrk run: on ``path``, or on the requests ``script`` writes; throughput, p99 and failures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + REPORT_SCRIPT.read_text())
    try:
        result = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", lua.name,
             base + (path or "/")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(lua.name)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def exports(base: str, parallel: int) -> tuple[dict[int, int], float]:
    """``parallel`` spreadsheet exports at once: answers by status, and the slowest in seconds."""

    def one(_: int) -> tuple[int, float]:
        start = time.perf_counter()
        status = httpx.get(base + EXPORT, timeout=600).status_code
        return status, time.perf_counter() - start

    with ThreadPoolExecutor(parallel) as pool:
        answers = list(pool.map(one, range(parallel)))
    statuses: dict[int, int] = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    return statuses, max(seconds for _, seconds in answers)


def _wait(health: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the service did not answer {health}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--exports", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("missing: apt-get install wrk")
    settings = Settings()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env |= {"AREAVASTA_DATABASE_URL": database_url(settings), "AREAVASTA_KEY_FAILURES_PER_MINUTE": "100000"}
    lines = [
        header("Hostile load: full page c = 64, random uncached boxes c = 32, parallel exports"),
        f"- one areavasta process, response cache bound {settings.response_cache_mb} MiB, "
        f"{settings.export_workers} export slots; wrk -t1, {args.seconds} s per run\n",
        "| run | requests | req/s | p99 ms | failed (non-2xx, timeouts) | server memory after, MiB |",
        "|---|---|---|---|---|---|",
    ]
    server = subprocess.Popen(
        [str(BIN / "areavasta"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"{base}/health")
        httpx.get(base + FULL_PAGE, timeout=120)  # the page is built once, as after any data change
        before = rss_mib(server.pid)
        for name, cell in (
            ("full page (625 municipalities), c = 64", wrk(base, 64, args.seconds, FULL_PAGE)),
            ("random bbox, uncached, c = 32", wrk(base, 32, args.seconds, script=RANDOM_BOXES)),
        ):
            lines.append(
                f"| {name} | {cell['requests']:,} | {cell['rps']:,.1f} | {cell['p99_ms']:,.0f} | {cell['failed']:,} "
                f"| {rss_mib(server.pid):,.0f} |"
            )
            print(lines[-1], flush=True)
        statuses, slowest = exports(base, args.exports)
        answered = ", ".join(f"{n} × {status}" for status, n in sorted(statuses.items()))
        lines.append(
            f"| {args.exports} parallel XLSX exports of roads | {answered} | – | slowest {slowest * 1000:,.0f} | "
            f"{sum(n for s, n in statuses.items() if s >= 500 and s != 503):,} (503 = no free export slot, by design) "
            f"| {rss_mib(server.pid):,.0f} |"
        )
        print(lines[-1], flush=True)
        time.sleep(5)
        rested = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    growth = rested - before
    bound = settings.response_cache_mb
    lines.append(
        f"\n- server memory: {before:,.0f} MiB before the runs, {rested:,.0f} MiB after them and 5 s of rest "
        f"(+{growth:,.0f} MiB; the response cache may hold up to {bound} MiB): "
        + ("within the cache's bound" if growth <= bound else "BEYOND the cache's bound")
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
