"""Time for headless Chromium to load each map until Leaflet has drawn its features (median of several loads).

Usage: start the service (`areavasta serve`), then `python bench/map_render.py [BASE_URL] [RUNS]`.
It prints one line per map: page weight and the median and worst load time. This is a measurement, not a test.
"""

from __future__ import annotations

import statistics
import sys
import time

import httpx
from playwright.sync_api import sync_playwright

from maps.browser import CHROMIUM, CHROMIUM_FLAGS

MAPS = {
    "/maps/coverage": "path.leaflet-interactive",
    "/maps/schools": ".marker-cluster",
    "/maps/priorities": "path.leaflet-interactive",
    "/maps/municipality/016024": "path",
}


def main(base: str, runs: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for path, selector in MAPS.items():
            size = len(httpx.get(base + path, timeout=60).content)
            times = []
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                page.wait_for_selector(selector)
                times.append(time.perf_counter() - start)
                page.close()
            print(f"{path:32s} {size / 1e6:5.2f} MB  median {statistics.median(times):.2f} s  max {max(times):.2f} s")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", int(sys.argv[2]) if len(sys.argv) > 2 else 5)
