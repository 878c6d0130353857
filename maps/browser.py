"""How the maps are checked in a real browser (tests and benchmarks): Debian's Chromium, headless, on a closed
network (background networking off, or Chromium keeps trying to reach Google's hosts)."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Vector features Leaflet holds in the GeoJSON layers shown on the page, per layer and in all: counted the same
# whether they are drawn as SVG paths or on a canvas (large maps), so tests and benchmarks do not depend on the
# renderer.
GEOJSON_LAYER_SIZES_JS = (
    "() => Object.values(window).filter(v => v instanceof L.GeoJSON && v._map).map(v => v.getLayers().length)"
)
GEOJSON_FEATURES_JS = f"() => ({GEOJSON_LAYER_SIZES_JS})().reduce((a, b) => a + b, 0)"
