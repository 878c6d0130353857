"""Time for headless Chromium to load each map until Leaflet has drawn its features (median of several loads).

Usage: start the service (`areavasta serve`), then `python -m bench.map_render [BASE_URL] [RUNS] [PATH ...]`.
It prints one line per map: page weight (as generated and as sent, gzip), the number of vector features Leaflet
holds, and the median and worst load time. This is a measurement, not a test.
"""

from __future__ import annotations

import statistics
import sys
import time

import httpx
from playwright.sync_api import sync_playwright

from bench.common import header
from maps.browser import CHROMIUM, CHROMIUM_FLAGS, GEOJSON_FEATURES_JS

MAPS = ("/maps/coverage", "/maps/schools", "/maps/priorities", "/maps/municipality/016024")
DRAWN = f"() => ({GEOJSON_FEATURES_JS})() > 0 || document.querySelector('.marker-cluster') !== null"


def main(base: str, runs: int, paths: tuple[str, ...]) -> None:
    lines = [
        header("Maps: load in headless Chromium until Leaflet holds the features"),
        f"- median and worst of {runs} loads; the service on this machine\n",
        "| map | page (as sent, gzip) | features | median | worst |",
        "|---|---|---|---|---|",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for path in paths:
            size = len(httpx.get(base + path, timeout=60).content)
            sent = httpx.get(base + path, timeout=60, headers={"Accept-Encoding": "gzip"}).num_bytes_downloaded
            times = []
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                page.wait_for_function(DRAWN, timeout=120_000)
                times.append(time.perf_counter() - start)
                features = page.evaluate(GEOJSON_FEATURES_JS)
                page.close()
            lines.append(
                f"| `{path}` | {size / 1e6:.2f} MB ({sent / 1e6:.2f} MB) | {features:,} | "
                f"{statistics.median(times):.2f} s | {max(times):.2f} s |"
            )
            print(lines[-1], flush=True)
        browser.close()
    print("\n".join(lines))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0] if args else "http://127.0.0.1:8000",
        int(args[1]) if len(args) > 1 else 5,
        tuple(args[2:]) or MAPS,
    )
