"""Leaflet served by the application itself (the XStatic package), never from a CDN."""

from __future__ import annotations

from pathlib import Path

import folium
import xstatic.pkg.leaflet

LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)
LEAFLET_URL = "/static/leaflet"


def offline_map(**options: object) -> folium.Map:
    """A folium map whose only scripts and styles are the locally served Leaflet ones."""
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, **options)
    m.default_js = [("leaflet", f"{LEAFLET_URL}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET_URL}/leaflet.css")]
    return m
