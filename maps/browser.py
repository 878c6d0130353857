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

# Vector features Leaflet holds in the GeoJSON layers shown on the page: counts the same whether they are drawn as
# SVG paths or on a canvas (large maps), so tests and benchmarks do not depend on the renderer.
GEOJSON_FEATURES_JS = """() => Object.keys(window).reduce(function (n, k) {
    var v = window[k];
    return v instanceof L.GeoJSON && v._map ? n + v.getLayers().length : n;
}, 0)"""
